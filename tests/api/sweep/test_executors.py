"""Every executor gives exactly the serial numbers for the same spec and seed.

dask.distributed is imported unconditionally: without it this module fails (CI installs
the ``distributed`` extra), it is never skipped.
"""

import distributed  # noqa: F401  -- a missing extra must fail loudly, not skip

from attnsparse.cli import main
from attnsparse.sweep import run_sweep
from attnsparse.sweep.spec import load_spec


def test_local_cluster_with_two_workers_equals_serial(small_reference, records_of, tmp_path):
    spec_path, _, ref = small_reference
    store = str(tmp_path / "dask")
    assert main(["sweep", spec_path, "--out", store, "--executor", "dask", "--workers", "2"]) == 0
    assert records_of(store) == ref


def test_process_pool_equals_serial(small_reference, records_of, tmp_path):
    spec_path, _, ref = small_reference
    status = run_sweep(load_spec(spec_path), str(tmp_path / "proc"), executor="processes", workers=2,
                       progress=False)
    assert status.executor == "processes" and status.computed == 12
    assert records_of(str(tmp_path / "proc")) == ref


def test_existing_cluster_by_address_equals_serial(small_reference, records_of, tmp_path):
    from distributed import LocalCluster

    spec_path, _, ref = small_reference
    store = str(tmp_path / "addr")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        assert main(["sweep", spec_path, "--out", store, "--scheduler", cluster.scheduler_address]) == 0
    assert records_of(store) == ref
