"""The store of one sweep: a folder with the manifest and one record file per grid point.

``DIR/sweep.json`` holds the spec and its hash; ``DIR/points/<key>.json`` one record each,
written atomically (temporary file, fsync, rename, fsync of the folder). A store written by
another spec (another hash) is refused. docs/sweeps.md describes the formats.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from .._version import __version__
from ..files import FolderError, fsync_dir, prepare_folder, write_atomic
from .spec import SpecError, SweepSpec, canonical_json, parse_spec, point_key

__all__ = ["SweepStore", "SweepResult", "StoreError", "default_store", "load_sweep", "load_spec_of_store",
           "RECORD_FORMAT", "MANIFEST", "POINTS"]

RECORD_FORMAT = 1
MANIFEST = "sweep.json"
POINTS = "points"


class StoreError(FolderError):
    """The store cannot be used for this spec (written by another spec, or unreadable)."""


def default_store(spec_path) -> str:
    """The default store of a spec file: ``<stem>-sweep`` in the current folder."""
    return os.path.splitext(os.path.basename(os.fspath(spec_path)))[0] + "-sweep"


def version():
    """The attnsparse version written into manifests and records."""
    return __version__


# ----------------------------------------------------------------------------- the store

class SweepStore:
    """The folder holding one sweep: ``sweep.json`` (manifest) and ``points/<key>.json``.

    Parameters
    ----------
    folder : str
        The store's folder (created on first write).
    """

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self.points_dir = os.path.join(self.folder, POINTS)
        self.lock = None

    def manifest(self):
        """The manifest as a dict, or None when the folder holds no sweep yet."""
        path = os.path.join(self.folder, MANIFEST)
        if not os.path.exists(path):
            return None
        try:
            return _read_json(path)
        except ValueError as e:
            raise StoreError(f"{path}: unreadable manifest ({e})") from None

    def attach(self, spec: SweepSpec, spec_text: str | None = None, force: bool = False):
        """Lock the store and make it hold ``spec``'s sweep: create it, or check that it already does.

        The folder follows the output-folder policy (:func:`~attnsparse.files.prepare_folder`):
        new, empty or made by attnsparse, else refused unless ``force``. The store stays
        locked (``fcntl.flock``) until :meth:`release`; a second process is refused with a
        message naming the first (pid, host). The manifest is written (atomically) before
        any record, so a kill at any point leaves a store that a rerun resumes.
        """
        try:
            self.lock = prepare_folder(self.folder, force=force, option="--out", ours=(MANIFEST,))
        except FolderError as e:
            raise StoreError(str(e)) from None
        try:
            m = self.manifest()
            if m is None:
                if os.path.isdir(self.points_dir) and os.listdir(self.points_dir) and not force:
                    raise StoreError(f"{self.folder!r} holds records but no {MANIFEST}; give a new folder with "
                                     "--out, or delete it to start over")
                self._write(os.path.join(self.folder, MANIFEST), _manifest(spec), sort_keys=False)
                if spec_text is not None:
                    write_atomic(os.path.join(self.folder, "spec.toml"), spec_text)
                return
            self.check(spec, m)
        except BaseException:
            self.release()
            raise

    def release(self):
        """Release the store's lock (taken by :meth:`attach`)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def check(self, spec: SweepSpec, manifest=None):
        """Refuse a store written by another spec, naming the fields that differ."""
        m = manifest or self.manifest()
        if m is None:
            raise StoreError(f"{self.folder!r} holds no sweep ({MANIFEST} missing)")
        if m.get("spec_hash") != spec.hash:
            old = m.get("spec", {})
            changed = sorted(k for k in set(old) | set(spec.raw)
                             if k not in ("name", "description") and old.get(k) != spec.raw.get(k))
            raise StoreError(
                f"{self.folder!r} holds the sweep of another spec (hash {str(m.get('spec_hash'))[:12]}; this spec "
                f"hashes to {spec.hash[:12]}; changed: {', '.join(changed) or 'engine settings'}). Records of "
                "different specs are never mixed: give another --out for the changed spec, or delete "
                f"{self.folder!r} to start over.")

    def records(self, spec_hash=None):
        """{key: record} of every stored point (stray temporary files are removed)."""
        out = {}
        if not os.path.isdir(self.points_dir):
            return out
        for name in os.listdir(self.points_dir):
            path = os.path.join(self.points_dir, name)
            if name.startswith(".tmp-"):  # a write interrupted by a kill: its point is recomputed
                os.unlink(path)
                continue
            if not name.endswith(".json"):
                continue
            try:
                rec = _read_json(path)
            except ValueError as e:
                raise StoreError(f"{path}: unreadable record ({e}); delete it to recompute the point") from None
            if spec_hash is not None and rec.get("spec_hash") != spec_hash:
                raise StoreError(f"{path}: written by spec hash {str(rec.get('spec_hash'))[:12]}, "
                                 f"not {spec_hash[:12]}; delete it to recompute the point")
            if rec.get("key") + ".json" != name:
                raise StoreError(f"{path}: its key {rec.get('key')!r} does not match its file name")
            out[rec["key"]] = rec
        return out

    def write(self, record):
        """Store one point's record atomically (an existing record of the point is replaced)."""
        self._write(os.path.join(self.points_dir, record["key"] + ".json"), record)

    @staticmethod
    def _write(path, obj, sort_keys=True):
        # records: canonical JSON (equal data, equal bytes); the manifest keeps the spec's order
        text = canonical_json(obj) if sort_keys else json.dumps(obj, indent=1)
        write_atomic(path, text + "\n")
        fsync_dir(os.path.dirname(path))


def _manifest(spec):
    return {"format": RECORD_FORMAT, "name": spec.name, "spec_hash": spec.hash, "spec": spec.raw,
            "points": len(spec.points()), "attnsparse": version()}


def _read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ----------------------------------------------------------------------------- loading

@dataclass
class SweepResult:
    """A stored sweep, loaded for trend checks and plots.

    Attributes
    ----------
    spec : SweepSpec
        The spec the store was written by.
    records : list of dict
        The stored records, in the grid's canonical order.
    missing : list of dict
        Grid points without a record.
    """

    spec: SweepSpec
    records: list
    missing: list
    folder: str

    @property
    def complete(self):
        return not self.missing

    def columns(self):
        """{column name: ndarray over records}.

        Names: each grid parameter (``n``); ``model.<param>`` (bound model parameters,
        e.g. ``model.sigma``); for each statistic label ``L``: ``L`` (the estimate),
        ``L.stderr``, ``L.ci_low``, ``L.ci_high``, ``L.param`` (its bound parameter, e.g. k);
        for each claim ``ID``: ``ID``, ``ID.stderr``, ``ID.ci_low``, ``ID.ci_high``,
        ``ID.theory``; and ``seed``. Missing numbers (None in JSON) are NaN.
        """
        cols = {}
        for name in self.spec.grid:
            cols[name] = [r["point"][name] for r in self.records]
        cols["seed"] = [r["seed"] for r in self.records]
        if self.spec.targets:
            for p in self.spec.model.params:
                cols[f"model.{p}"] = [r["model"][p] for r in self.records]
        for group, labels in (("stats", [t.label for t in self.spec.targets]), ("claims", self.spec.claims)):
            for lab in labels:
                entries = [r[group][lab] for r in self.records]
                cols[lab] = [e["estimate"] for e in entries]
                cols[f"{lab}.stderr"] = [e["stderr"] for e in entries]
                cols[f"{lab}.ci_low"] = [e["ci"][0] for e in entries]
                cols[f"{lab}.ci_high"] = [e["ci"][1] for e in entries]
                extra = "param" if group == "stats" else "theory"
                cols[f"{lab}.{extra}"] = [e[extra] for e in entries]
        return {k: np.array([np.nan if v is None else v for v in vals]) if k != "seed"
                else np.array(vals, dtype=np.uint64) for k, vals in cols.items()}

    def column(self, name):
        """One column of :meth:`columns`; a KeyError lists the names."""
        cols = self.columns()
        if name not in cols:
            raise KeyError(f"no column {name!r} in sweep {self.spec.name}; columns: {', '.join(cols)}")
        return cols[name]


def load_spec_of_store(folder) -> SweepSpec:
    """The spec a store was written by, re-validated from its manifest."""
    m = SweepStore(folder).manifest()
    if m is None:
        raise StoreError(f"{os.fspath(folder)!r} holds no sweep ({MANIFEST} missing)")
    try:
        spec = parse_spec(m["spec"], default_name=m.get("name", "sweep"), check_points=False)
    except SpecError as e:
        raise StoreError(f"{os.fspath(folder)!r}: its stored spec is no longer valid ({e})") from None
    if spec.hash != m["spec_hash"]:
        raise StoreError(f"{os.fspath(folder)!r}: its spec hashes to {spec.hash[:12]} under this version of "
                         f"attnsparse, not {m['spec_hash'][:12]} (engine settings changed)")
    return spec


def load_sweep(folder, complete=True) -> SweepResult:
    """Load the sweep stored in ``folder``.

    Parameters
    ----------
    folder : str
        A store written by ``attnsparse sweep`` / :func:`run_sweep`.
    complete : bool
        Refuse (StoreError) a sweep with missing points unless False.

    Returns
    -------
    SweepResult
        ``.records`` (dicts, canonical order) and ``.columns()`` (numpy arrays).
    """
    spec = load_spec_of_store(folder)
    have = SweepStore(folder).records(spec.hash)
    records, missing = [], []
    for p in spec.points():
        rec = have.get(point_key(p))
        (records.append(rec) if rec is not None else missing.append(p))
    if complete and missing:
        raise StoreError(f"sweep {spec.name} in {os.fspath(folder)!r} is not finished: {len(missing)} of "
                         f"{len(missing) + len(records)} points missing; rerun `attnsparse sweep` to complete it")
    return SweepResult(spec, records, missing, os.fspath(folder))
