"""Parameter sweeps: a TOML spec, run over its grid into a resumable store, loaded and plotted.

- :mod:`.expr`: the safe expression language of specs (no ``eval``);
- :mod:`.spec`: reading and validating a spec, its grid and the seed of each point;
- :mod:`.store`: the store folder (manifest, one record per point) and loading a sweep;
- :mod:`.run`: computing the missing points (serial, processes or Dask);
- :mod:`.plot`: plots of a stored sweep with the tilting prediction as theory overlay.

docs/sweeps.md describes the formats.
"""

from .run import EXECUTORS, SweepStatus, compute_point, run_sweep, sweep_status
from .spec import SpecError, SweepSpec, canonical_json, load_spec, parse_spec, point_key, point_seed
from .store import SweepResult, SweepStore, StoreError, default_store, load_spec_of_store, load_sweep

__all__ = ["EXECUTORS", "SweepStatus", "compute_point", "run_sweep", "sweep_status", "SpecError", "SweepSpec",
           "canonical_json", "load_spec", "parse_spec", "point_key", "point_seed", "SweepResult", "SweepStore",
           "StoreError", "default_store", "load_spec_of_store", "load_sweep"]
