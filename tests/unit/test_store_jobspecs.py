"""A job's jobspec is kept apart from its ``jobs`` row (small rows share pages); a
store written before, with the jobspec in the row itself, reads the same."""

from __future__ import annotations

import sqlite3

from flux.modules.job_manager import fold
from flux.modules.kvs.store import Store


def test_jobspec_kept_apart_and_read_back(tmp_path):
    st = Store(str(tmp_path / "content.sqlite"))
    st.add_job(1, 100, b'{"version": 1}')
    st.append_event(1, 0, b'{"timestamp": 1.0, "name": "submit"}')
    st.flush()
    row = st.db.execute("SELECT jobspec FROM jobs WHERE id=1").fetchone()
    assert row == (b"",)
    assert st.job_row(1) == (100, b'{"version": 1}', None, 0)
    assert [r[:4] for r in st.active_jobs()] == [(1, 100, b'{"version": 1}', None)]
    st.delete_job(1)
    st.flush()
    assert st.job_row(1) is None
    assert st.db.execute("SELECT count(*) FROM jobspecs").fetchone() == (0,)
    st.close()


def test_store_written_before_reads_the_same(tmp_path):
    path = str(tmp_path / "content.sqlite")
    st = Store(path)
    st.close()
    db = sqlite3.connect(path)  # a row as a store written before holds it
    db.execute("INSERT INTO jobs (id, userid, jobspec) VALUES (7, 100, ?)", (b'{"old": 1}',))
    db.execute("INSERT INTO events VALUES (7, 0, ?)", (b'{"timestamp": 1.0, "name": "submit"}',))
    db.commit()
    db.close()
    st = Store(path)
    st.add_job(8, 100, b'{"new": 1}')
    st.flush()
    assert st.job_row(7) == (100, b'{"old": 1}', None, 0)
    assert st.job_row(8) == (100, b'{"new": 1}', None, 0)
    assert [r[2] for r in st.active_jobs()] == [b'{"old": 1}', b'{"new": 1}']
    fold.prepare(st)
    assert [r[2] for r in fold.active_rows(st.db)] == [b'{"old": 1}', b'{"new": 1}']
    st.close()
