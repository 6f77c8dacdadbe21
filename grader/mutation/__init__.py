"""What the self-test's mutation run and the diagnosis's generated bank share (pure): the student
parts of a course and the first-order mutation operators. Neither feature owns them, so that the
engine's diagnosis never imports the self-test."""
