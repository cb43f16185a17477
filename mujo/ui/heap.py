"""Keep the server's garbage collector off the libraries' objects.

A page run allocates many short-lived pandas and protobuf objects, so Python's collector runs often; each of its
full (generation 2) passes walks every object alive in the process: torch, pandas, umap-learn, Streamlit, the
cached datasets. On the 2-core machine such a pass took hundreds of milliseconds under the GIL, and every
annotator's key press waited for it (benchmarks/bench_load.py: latency spikes every few seconds). Streamlit's own
full collection after every script run is switched off (.streamlit/config.toml, runner.postScriptGC).

`settle()` runs after each script run: when new modules were imported since the last time (the first run of each
page, a handful of times per process), it collects once and freezes the survivors (`gc.freeze`): long-lived objects
then sit in the permanent generation and later passes skip them. Garbage made by later runs is collected as usual.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()
_modules_at_freeze = 0


def settle() -> bool:
    """Collect and freeze once the process imported more modules than at the last freeze; True when it did."""
    global _modules_at_freeze
    if len(sys.modules) <= _modules_at_freeze:
        return False
    with _lock:
        if len(sys.modules) <= _modules_at_freeze:
            return False
        _modules_at_freeze = len(sys.modules)
        gc.collect()
        gc.freeze()
    return True


__all__ = ["settle"]
