"""System libraries Qt's xcb platform plugin (a real window on Linux) needs, and how to get them.

``python -m workbench.system_deps [--install]`` lists the shared libraries the installed plugin
cannot find (``ldd`` on it, plus ``libxcb-cursor``, which Qt opens at run time), maps them to
Debian packages, and with ``--install`` installs them with ``apt-get`` when it runs as root or
with sudo; otherwise it prints the exact command and exits 1. Nothing is needed for the
offscreen platform (tests) or on other systems, where it exits 0.
"""

from __future__ import annotations

import argparse
import ctypes.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: shared library -> Debian package (bookworm names)
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}


def xcb_plugin() -> Path | None:
    """The installed PySide6 xcb platform plugin, or None."""
    try:
        import PySide6
    except ImportError:
        return None
    plugin = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_libraries(plugin: Path) -> list[str]:
    """Shared libraries the plugin needs and the dynamic loader cannot find."""
    missing = set()
    if shutil.which("ldd"):
        output = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True).stdout
        missing |= {line.split("=>")[0].strip() for line in output.splitlines() if "not found" in line}
    if ctypes.util.find_library("xcb-cursor") is None:  # opened by Qt at run time, not linked
        missing.add("libxcb-cursor.so.0")
    return sorted(missing)


def install_command(packages: list[str]) -> list[str]:
    """The apt-get command line (with sudo unless root)."""
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    return prefix + ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def main(argv=None) -> int:
    """Entry point: 0 when nothing is missing (or after installing it), 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m workbench.system_deps", description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help="install the missing Debian packages")
    args = parser.parse_args(argv)
    plugin = xcb_plugin()
    if not sys.platform.startswith("linux") or plugin is None:
        return 0
    missing = missing_libraries(plugin)
    if not missing:
        return 0
    packages = sorted({DEBIAN_PACKAGES[lib] for lib in missing if lib in DEBIAN_PACKAGES})
    unknown = [lib for lib in missing if lib not in DEBIAN_PACKAGES]
    command = install_command(packages)
    can_install = shutil.which("apt-get") and (os.geteuid() == 0 or shutil.which("sudo"))
    if args.install and packages and can_install:
        print(f"Qt's xcb plugin needs {', '.join(missing)}: running {' '.join(command)}", file=sys.stderr)
        update = ([] if os.geteuid() == 0 else ["sudo"]) + ["apt-get", "update"]
        if subprocess.run(update).returncode == 0 and subprocess.run(command).returncode == 0:
            still = missing_libraries(plugin)
            if not still:
                return 0
            missing, unknown = still, [lib for lib in still if lib not in DEBIAN_PACKAGES]
    print(f"error: Qt's xcb platform plugin ({plugin}) cannot load: missing {', '.join(missing)}.", file=sys.stderr)
    if packages:
        sudo = "" if os.geteuid() == 0 else "sudo "
        print(f"Install them with:  {sudo}apt-get update && {' '.join(command)}", file=sys.stderr)
    if unknown:
        print(f"(no known Debian package for {', '.join(unknown)})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
