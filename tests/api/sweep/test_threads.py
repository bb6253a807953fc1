"""A sweep task sets numba's thread count for its simulation only: the old count comes back."""

import numba

from attnsparse.sweep.run import using_numba_threads


def test_thread_count_is_restored_after_the_block():
    before = numba.get_num_threads()
    with using_numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_thread_count_is_restored_after_an_error():
    before = numba.get_num_threads()
    try:
        with using_numba_threads(1):
            raise RuntimeError("task failed")
    except RuntimeError:
        pass
    assert numba.get_num_threads() == before


def test_no_count_leaves_it_alone():
    before = numba.get_num_threads()
    with using_numba_threads(None):
        assert numba.get_num_threads() == before
