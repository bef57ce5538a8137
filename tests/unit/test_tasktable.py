"""The exec's table of running task groups: what a restarted broker finds in it."""

from __future__ import annotations

from flux.modules.job_exec.tasktable import TaskTable
from flux.modules.kvs.store import Store


def _rows(st: Store) -> list[tuple[int, int]]:
    return sorted(st.db.execute("SELECT id, pgid FROM exec_tasks").fetchall())


def test_rows_of_running_tasks_only(tmp_path):
    st = Store(str(tmp_path / "content.sqlite"))
    try:
        tt = TaskTable(st)
        tt.add(1, 100)
        tt.add(1, 101)
        tt.add(2, 200)
        st.flush()
        assert _rows(st) == [(1, 100), (1, 101), (2, 200)]
        tt.remove(1)  # written earlier: deleted now
        tt.add(3, 300)
        tt.remove(3)  # came and went between two commits: never written
        tt.add(4, 400)
        st.flush()
        assert _rows(st) == [(2, 200), (4, 400)]
        tt.remove(2)
        tt.remove(4)
        st.flush()
        assert _rows(st) == []
    finally:
        st.close()
