"""The server's folders form layers: no folder uses a type of a folder that (directly or not) uses it back.

Rings are how the server grew into one tangle before; `scripts/folder-layers.py` lists who uses whom."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "folder-layers.py"


def layers(path):
    return subprocess.run([sys.executable, str(SCRIPT), str(path)], capture_output=True, text=True, timeout=60)


def test_the_server_folders_form_layers():
    result = layers(ROOT / "Sources" / "HoldfastServer")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Connection -> Channels" in result.stdout  # the check does see the folders' uses


def test_a_ring_between_two_folders_is_found(tmp_path):
    (tmp_path / "Rooms").mkdir()
    (tmp_path / "Sessions").mkdir()
    (tmp_path / "Rooms" / "Room.swift").write_text("final class Room {\n    var members: [Session] = []\n}\n")
    (tmp_path / "Sessions" / "Session.swift").write_text("final class Session {\n    weak var room: Room?\n}\n")
    result = layers(tmp_path)
    assert result.returncode == 1
    assert "ring: Rooms -> Sessions -> Rooms" in result.stdout
