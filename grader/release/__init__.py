"""Student releases: the repository students receive, which grades with the hidden tests but
holds no reference implementation in any readable form.

    values.py    answers as exact JSON, and the content-addressed key of a question (pure)
    space.py     the proxies the hidden tests see as `reference`: every use is a question
    record.py    recording in the instructor's tree: the real reference answers, kept by key
    oracle.py    the recorded answers as a file, and what a grading in a release may use
    replay.py    replay in a release: the oracle answers; a judge's computation on the student's
                 own data is answered by the student's own earlier chapter; anything else errors
    source.py    which reference source a course folder needs: live, recording (record.py) or replay
    plan.py      which gradings record the answers and verify the release (pure)
    build.py     `grade release`: record, write the release, verify it, or fail loudly
    tree.py      the files of the release
    smoke.py     `make test` in a release: the grader works here and its answers fit it
"""
