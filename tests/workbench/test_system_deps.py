"""The check behind `make run`: missing xcb libraries are mapped to Debian packages and named."""

from __future__ import annotations

import workbench.system_deps as deps


def test_missing_libraries_are_mapped_to_packages_and_the_command_is_printed(monkeypatch, capsys, tmp_path):
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    monkeypatch.setattr(deps, "xcb_plugin", lambda: plugin)
    monkeypatch.setattr(deps, "missing_libraries", lambda p: ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libfoo.so.9"])
    monkeypatch.setattr(deps.os, "geteuid", lambda: 1000)
    assert deps.main([]) == 1
    err = capsys.readouterr().err
    assert "missing libxcb-cursor.so.0, libxcb-icccm.so.4, libfoo.so.9" in err
    assert "sudo apt-get update && sudo apt-get install -y --no-install-recommends libxcb-cursor0 libxcb-icccm4" in err
    assert "no known Debian package for libfoo.so.9" in err


def test_nothing_missing_means_success(monkeypatch, tmp_path):
    monkeypatch.setattr(deps, "xcb_plugin", lambda: tmp_path)
    monkeypatch.setattr(deps, "missing_libraries", lambda p: [])
    assert deps.main(["--install"]) == 0


def test_ldd_output_is_parsed(monkeypatch, tmp_path):
    class Result:
        stdout = "\tlibxcb-icccm.so.4 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"

    monkeypatch.setattr(deps.subprocess, "run", lambda *a, **k: Result())
    monkeypatch.setattr(deps.ctypes.util, "find_library", lambda name: None)
    assert deps.missing_libraries(tmp_path) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
