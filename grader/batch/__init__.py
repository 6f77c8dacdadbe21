"""Batch grading: a whole class, graded one submission per judge process, on this machine (a pool
of judges) or on a Dask cluster, into one folder per student plus a class overview.

Stages, each a small module:

    entries.py   the submissions folder -> Entry per student (ids checked), shards
    unzip.py     a student's .zip -> a folder, refusing what could harm the grader's machine
    bundle.py    a submission folder -> a self-contained JSON job, and back into a folder
    judge.py     `python -m grader.batch.judge`: grade one job, write its reports (child process)
    task.py      run one judge under a wall-clock limit; returns plain JSON (pool and Dask alike)
    pool.py      local executor: --jobs judges at a time
    cluster.py   Dask executor: one task per submission (optional extra `grade[dask]`)
    store.py     each student's output folder: resume keys, atomic publication
    records.py   StudentRecord, the canonical scores and batch.json
    gradebook.py grades.csv
    overview.py  the class overview page's data (histogram.py draws the totals)
    run.py       run_batch: the orchestration the `grade batch` command calls
    merge.py     merge_batches: shard outputs -> one class overview (`grade merge`)
"""

from .merge import merge_batches
from .run import BatchOptions, BatchSummary, run_batch

__all__ = ["BatchOptions", "BatchSummary", "merge_batches", "run_batch"]
