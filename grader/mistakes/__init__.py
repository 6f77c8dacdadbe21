"""The mistake bank: known mistakes of the course, and harmless variants, each a small edit of
one reference chapter, kept as data (bank.yaml, plus course.yaml's own `mistakes:`).

The self-test grades every entry to prove the rubric catches the mistakes and forgives the
variants; the diagnosis runs the mistakes in the judge to name the one a student probably made.
"""

from .bank import BANK_PATH, Bank, load_bank, mutate

__all__ = ["BANK_PATH", "Bank", "load_bank", "mutate"]
