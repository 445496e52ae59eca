"""Profiles a server process the capacity bench starts (bench/bench_serve.py --profile FILE):
this folder is on that process's PYTHONPATH only then. cProfile runs from start-up; the stats are
written to $MUGKIT_BENCH_PROFILE when the server exits (the bench stops it with SIGTERM, which
`mugkit serve` handles by shutting down cleanly)."""

import os

if os.environ.get("MUGKIT_BENCH_PROFILE"):
    import atexit
    import cProfile

    _profile = cProfile.Profile()
    _profile.enable()

    @atexit.register
    def _dump():
        _profile.disable()
        _profile.dump_stats(os.environ["MUGKIT_BENCH_PROFILE"])

if os.environ.get("MUGKIT_BENCH_SAMPLE"):
    # A sampling profile of the main thread (the event loop): every 2 ms, the functions on its
    # stack. Cheaper than cProfile, so the proportions are those of the real server. Written at
    # exit as "inclusive% self% function" lines.
    import atexit
    import collections
    import sys
    import threading
    import time

    _main = threading.main_thread().ident
    _inclusive: collections.Counter = collections.Counter()
    _self: collections.Counter = collections.Counter()
    _samples = [0]

    def _sample():
        while True:
            time.sleep(0.002)
            frame = sys._current_frames().get(_main)
            if frame is None:
                continue
            _samples[0] += 1
            seen = set()
            leaf = True
            while frame is not None:
                code = frame.f_code
                name = f"{code.co_filename.rsplit('site-packages/', 1)[-1]}:{code.co_firstlineno}({code.co_name})"
                if leaf:
                    _self[name] += 1
                    leaf = False
                if name not in seen:
                    seen.add(name)
                    _inclusive[name] += 1
                frame = frame.f_back

    threading.Thread(target=_sample, daemon=True, name="bench-sampler").start()

    @atexit.register
    def _write():
        n = max(1, _samples[0])
        with open(os.environ["MUGKIT_BENCH_SAMPLE"], "w") as f:
            f.write(f"{_samples[0]} samples of the main thread\n")
            for name, count in _inclusive.most_common(150):
                f.write(f"{100 * count / n:6.1f} {100 * _self[name] / n:6.1f}  {name}\n")
            f.write("\nself time:\n")
            for name, count in _self.most_common(60):
                f.write(f"{100 * count / n:6.1f}  {name}\n")
