"""Which OpenBLAS this Python process loaded and which kernels it runs: the library's path, its core name
(the kernel set it chose, or the one OPENBLAS_CORETYPE forced), its thread count and its build line. The
bench's Python references print this beside their timings, so a ratio says what it was measured against.

usage: python3 bench/openblas_info.py [numpy|torch]   (imports that module first, then prints the JSON)
As a module: openblas_info() after numpy or torch is imported; None where no OpenBLAS is loaded (MKL,
Accelerate).
"""
import ctypes
import json
import sys

# Plain OpenBLAS exports openblas_*; the scipy-openblas wheels numpy's own builds bundle rename them.
PREFIXES = ("openblas_", "scipy_openblas_")
SUFFIXES = ("", "64_")


def _function(library, name, restype):
    for prefix in PREFIXES:
        for suffix in SUFFIXES:
            function = getattr(library, f"{prefix}{name}{suffix}", None)
            if function is not None:
                function.restype = restype
                return function
    return None


def _loaded_openblas_paths():
    """Shared objects mapped into this process whose file name says OpenBLAS (numpy's, torch's, Debian's)."""
    with open("/proc/self/maps", encoding="utf-8") as maps:
        paths = {line.split()[-1] for line in maps if "/" in line and "openblas" in line.split()[-1].rsplit("/", 1)[-1].lower()}
    return sorted(paths)


def openblas_info():
    for path in _loaded_openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        corename = _function(library, "get_corename", ctypes.c_char_p)
        if corename is None:
            continue
        threads = _function(library, "get_num_threads", ctypes.c_int)
        config = _function(library, "get_config", ctypes.c_char_p)
        return {
            "library": path,
            "corename": corename().decode(),
            "threads": threads() if threads else None,
            "config": config().decode().strip() if config else None,
        }
    return None


if __name__ == "__main__":
    __import__(sys.argv[1] if len(sys.argv) > 1 else "numpy")
    print(json.dumps(openblas_info()))
