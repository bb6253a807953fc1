"""Execute docs/example.ipynb (or the notebooks given) with nbclient; exit 1 on any cell error.

Used by .ci/run: ``python docs/execute_notebook.py``. The executed copy is written to
``docs/_build/`` so the source notebook stays without outputs.
"""

import sys
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).parent


def execute(path, timeout=600):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                    resources={"metadata": {"path": str(HERE)}})
    client.execute()
    out = HERE / "_build" / f"{Path(path).stem}.executed.ipynb"
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def main(paths):
    paths = paths or [HERE / "example.ipynb"]
    for p in paths:
        try:
            out = execute(p)
        except nbclient.exceptions.CellExecutionError as e:
            print(f"{p}: a cell failed:\n{e}", file=sys.stderr)
            return 1
        print(f"{p}: executed without errors -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
