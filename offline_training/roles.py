"""Which data plays which part in adversarial training (paper 001), and the checks on it.

Four roles, plus the validation split:

- ``labelled``: tracks with true stems, for the supervised term;
- ``solo vocals`` and ``solo accompaniment``: recordings of one source, the critics' "real"
  examples;
- ``mixtures``: unlabelled music the separator's outputs come from (stems, if any, ignored);
- ``validation``: labelled tracks for model selection and the validation SDR curve.

An input is a MUSDB-style data set folder (track folders, ``rtsep.io.datasets``), a folder of
audio files, or one audio file. A track folder given as solo vocals gives its vocal stem, as
solo accompaniment its accompaniment, as mixtures the sum of its stems. A ``split`` folder's
songs are shared out among the four roles (by ``shares``), whole songs each.

Rules: every track folder first passes ``offline_training.splits.Policy``: reserved MIR-1K
singers and dev tracks are refused, and the validation singers and songs go to validation, so
validation is carved from the training folders and never from dev. Then no song (a MUSDB-style
track, a MIR-1K singer, or a file's content) may serve two roles: the critics compare the
separator's outputs with recordings of *other* songs (paper 001's unpaired setting), and
validation stays unseen. ``check_unpaired`` enforces it and ``assign_roles`` calls it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROLES = ("labelled", "solo vocals", "solo accompaniment", "mixtures")
VALIDATION = "validation"
# labelled, solo vocals, solo accompaniment, mixtures: the "half of the songs labelled"
DEFAULT_SHARES = (0.5, 0.17, 0.17, 0.16)
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus")
_KIND = {"labelled": "track", "solo vocals": "vocals", "solo accompaniment": "accompaniment",
         "mixtures": "mixture", VALIDATION: "track"}


@dataclass
class Source:
    """One recording in one role: ``kind`` says what is read from ``path`` ("track": both
    stems; "vocals"/"accompaniment": that stem of a track; "mixture": the sum of a track's
    stems; "file": the whole audio file)."""

    role: str
    path: str
    kind: str
    group: str  # the song it belongs to (offline_training.splits.group_of, or file content)
    dataset: str  # the folder given on the command line, for provenance
    licence: str


@dataclass
class Roles:
    sources: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # [path, reason]
    skipped: list = field(default_factory=list)  # [path, reason]: empty or duplicate files

    def of(self, role: str) -> list:
        return [s for s in self.sources if s.role == role]

    def groups(self, role: str) -> set:
        return {s.group for s in self.of(role)}

    def to_dict(self) -> dict:
        return {"sources": [asdict(s) for s in self.sources], "refused": self.refused,
                "skipped": self.skipped}

    @classmethod
    def from_dict(cls, doc: dict) -> "Roles":
        return cls([Source(**s) for s in doc["sources"]], doc.get("refused", []),
                   doc.get("skipped", []))


def _is_dataset(folder: Path) -> bool:
    """A folder of track folders (each with a ``vocals.*``), not a folder of audio files."""
    return any(p.is_dir() and any(p.glob("vocals.*")) for p in folder.iterdir())


def _file_group(path: Path) -> str:
    """Identity of a file's content: a copy of a song under another name is the same song."""
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
    return f"file:{h.hexdigest()[:16]}"


def _audio_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in
                  AUDIO_SUFFIXES)


def _csv_licence(path: Path) -> str | None:
    """The ``licence`` column of ``LICENCES.csv`` beside a file (as in mixtures/jamendo)."""
    table = path.parent / "LICENCES.csv"
    if not table.is_file():
        return None
    import csv

    with open(table, newline="", errors="replace") as fh:
        for row in csv.DictReader(fh):
            if row.get("file") == path.name and row.get("licence"):
                who = " - ".join(filter(None, (row.get("artist"), row.get("title"))))
                return f"{row['licence']} ({who}, {row.get('url', '')})".replace(", )", ")")
    return None


def _rank(group: str) -> str:
    """A fixed pseudo-random order of songs for sharing a folder out among the roles."""
    return hashlib.sha256(f"roles:{group}".encode()).hexdigest()


def share_out(groups, shares=DEFAULT_SHARES) -> dict:
    """Song group -> role: the groups in a fixed hashed order, cut by cumulative ``shares``
    (labelled, solo vocals, solo accompaniment, mixtures); the counts round to the shares."""
    ordered = sorted(set(groups), key=_rank)
    total = float(sum(shares))
    out, start = {}, 0
    for i, (role, share) in enumerate(zip(ROLES, shares)):
        stop = len(ordered) if i == len(ROLES) - 1 else \
            int(round(len(ordered) * sum(shares[:i + 1]) / total))
        out.update({g: role for g in ordered[start:stop]})
        start = stop
    return out


def assign_roles(inputs: dict, split=(), shares=DEFAULT_SHARES, licences: dict | None = None,
                 dev_dirs=None, log=print) -> Roles:
    """Sort every input into its role. ``inputs`` maps each of ``ROLES`` to paths; ``split``
    folders are shared out by ``shares``; ``licences`` maps a given path to its licence text.

    Raises ``ConfigError`` when a song would serve two roles or a role ends up empty where the
    recipe needs it (checked by the caller).
    """
    from rtsep.errors import ConfigError
    from rtsep.io.datasets import track_folders

    from .audio_sources import licence_of
    from .splits import Policy, default_dev_dirs, group_of
    from .train_stems import _folder_licence

    policy = Policy(default_dev_dirs() if dev_dirs is None else dev_dirs)
    licences = {str(Path(k)): v for k, v in (licences or {}).items()}
    roles = Roles()
    seen_files: dict = {}

    def add_tracks(folder: Path, role: str | None, by_group: dict | None = None) -> None:
        given = licences.get(str(folder)) or _folder_licence(folder)
        for track in track_folders(folder):
            licence = given if given != "unknown" else licence_of(track / "vocals", given)
            reason = policy.forbidden(track)
            if reason:
                roles.refused.append([str(track), reason])
                continue
            group = group_of(track.name)
            mine = VALIDATION if policy.is_validation(track.name) else \
                (by_group[group] if by_group is not None else role)
            roles.sources.append(Source(mine, str(track), _KIND[mine], group, str(folder),
                                        licence))

    def add_files(path: Path, role: str) -> None:
        for f in _audio_files(path):
            reason = policy.forbidden(f.with_suffix(""))
            if reason:
                roles.refused.append([str(f), reason])
                continue
            if f.stat().st_size == 0:
                log(f"skipping {f}: the file is empty")
                roles.skipped.append([str(f), "empty file"])
                continue
            group = _file_group(f)
            if (group, role) in seen_files:
                roles.skipped.append([str(f), f"same content as {seen_files[group, role]}"])
                continue
            seen_files[group, role] = str(f)
            licence = (licences.get(str(f)) or licences.get(str(path))
                       or _csv_licence(f) or licence_of(f, "unknown"))
            roles.sources.append(Source(role, str(f), "file", group, str(path), licence))

    for role in ROLES:
        for path in map(Path, inputs.get(role) or ()):
            if not path.exists():
                raise ConfigError(f"{role} input {path} does not exist")
            if path.is_dir() and _is_dataset(path):
                add_tracks(path, role)
            elif _audio_files(path):
                add_files(path, role)
            else:
                raise ConfigError(f"{role} input {path} holds no audio files or track folders")
    for folder in map(Path, split):
        if not folder.is_dir() or not _is_dataset(folder):
            raise ConfigError(f"--split {folder} is not a folder of track folders")
        names = [t.name for t in track_folders(folder)]
        add_tracks(folder, None, share_out([group_of(n) for n in names
                                            if not policy.is_validation(n)], shares))
    check_unpaired(roles)
    return roles


def check_unpaired(roles: Roles) -> None:
    """``ConfigError`` naming the first song found in two roles (validation included)."""
    from rtsep.errors import ConfigError

    owner: dict = {}
    for s in roles.sources:
        other = owner.setdefault(s.group, s.role)
        if other != s.role:
            raise ConfigError(f"{s.path} ({s.group}) would be used as {s.role} and as {other}; "
                              "each song may serve one role only")


def provenance(roles: Roles) -> list[dict]:
    """What a model's JSON lists: one entry per file, and per (role, data set folder) with
    its track names, each with its role and licence."""
    out: dict = {}
    for s in roles.sources:
        if s.kind == "file":
            out[(s.role, s.path)] = {"role": s.role, "source": _display(s.path),
                                     "licence": s.licence, "read_as": "whole file"}
            continue
        entry = out.setdefault((s.role, s.dataset), {
            "role": s.role, "source": _display(s.dataset), "licence": s.licence,
            "read_as": {"track": "vocals and accompaniment stems"}.get(s.kind, s.kind),
            "tracks": []})
        entry["tracks"].append(Path(s.path).name)
    return list(out.values())


def _display(path: str) -> str:
    """The last three parts of a path: meaningful on another machine."""
    return "/".join(Path(path).parts[-3:])
