"""The frame scheme: which frames exist, what they mean, and examples of each.

The scheme is data (``data/codebook.yaml`` by default), so a user can train
another scheme from another codebook file without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from framing.config import CODEBOOK_PATH
from framing.schema import FramingError, read_yaml


@dataclass(frozen=True)
class Frame:
    """One frame of a codebook."""

    name: str
    definition: str
    label: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrameScheme:
    """An ordered set of frames; a paragraph carries any subset of them."""

    name: str
    frames: tuple[Frame, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.frames]

    def check(self, frames, *, where: str) -> list[str]:
        """``frames`` as a list, or :class:`FramingError` naming any frame not in the scheme."""
        frames = list(frames)
        unknown = [f for f in frames if f not in self.names]
        if unknown:
            raise FramingError(
                f"{where}: unknown frame {unknown[0]!r}; the codebook {self.name!r} has {self.names}"
            )
        return frames

    @classmethod
    def load(cls, path: str | Path = CODEBOOK_PATH) -> "FrameScheme":
        """Read a codebook YAML file with ``name`` and a list of ``frames``."""
        path = Path(path)
        data = read_yaml(path, "codebook")
        if not isinstance(data, dict) or not isinstance(data.get("frames"), list) or not data["frames"]:
            raise FramingError(f"{path}: a codebook needs a non-empty list 'frames'")
        frames = []
        for i, entry in enumerate(data["frames"]):
            if not isinstance(entry, dict) or not entry.get("name") or not entry.get("definition"):
                raise FramingError(f"{path}: frame {i + 1} needs a 'name' and a 'definition'")
            frames.append(
                Frame(
                    name=str(entry["name"]),
                    definition=" ".join(str(entry["definition"]).split()),
                    label=str(entry.get("label") or entry["name"]),
                    include=tuple(entry.get("include") or ()),
                    exclude=tuple(entry.get("exclude") or ()),
                )
            )
        names = [f.name for f in frames]
        if len(set(names)) != len(names):
            raise FramingError(f"{path}: frame names repeat: {names}")
        return cls(name=str(data.get("name") or path.stem), frames=tuple(frames))
