"""Pre-training settings: what the CLI and the app fill in, and how they resolve against a preset and a dataset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from mujo.config import IMU_CHANNEL_GROUPS, Preset, TrainConfig, load_preset
from mujo.modality import Modality
from mujo.train.batches import SAME_CLIP
from mujo.train.proxies import METHODS as PROXY_METHODS

METHODS = ("mujo", *PROXY_METHODS)


@dataclass
class PretrainSettings:
    """One pre-training run. None means "the preset's value" (the preset's `train` section, then TrainConfig)."""

    dataset: str  # FiMAD dataset folder
    out: str  # output folder: the best model at its root, `last/` (resumable) and `best/` inside
    preset: str = "small"  # preset name (small, paper) or a preset JSON file
    method: str | None = None  # mujo (contrastive) | multitask | autoencoder | simclr
    modalities: tuple[str, ...] | None = None  # modalities to train on (mujo); None: all the dataset has
    sites: tuple[str, ...] | None = None  # IMU sites, in this order; None: the preset's
    gyro: bool | None = None  # add the gyroscope to the accelerometer; None: the preset's imu_channels
    epochs: int | None = None  # at most; warm-up and cycle scale with it unless given
    batch_size: int | None = None  # windows per batch (per process under DDP)
    lr: float | None = None  # peak learning rate
    min_lr: float | None = None  # cosine floor
    warmup_epochs: float | None = None  # linear warm-up
    cycle_epochs: float | None = None  # cosine from the peak down to min_lr
    patience: int | None = None  # early stopping on the validation loss
    weight_decay: float | None = None  # AdamW
    seed: int | None = None  # model init, batch order, dropout, augmentations
    same_clip: str = "mask"  # mask | one_per_clip | ignore (see mujo.train.batches)
    text_field: str = "chapter_norm"  # clips.csv column the text features embed
    video_feature: str | None = None  # features/<name>/ to use; None: precomputed if present, else computed
    monitor: str | None = None  # early stopping and best model: val_loss (paper), val_top1 (mean in-batch top-1
    #   of all modality pairs), val_top1_<a>_<b> or val_loss_<a>_<b>; None: the preset's (TrainConfig.monitor when it
    #   has one), else val_loss
    simclr_temperature: float = 0.1  # NT-Xent temperature of the simclr baseline
    null_anchor: str | None = None  # NULL anchor text, e.g. "no exercise: the trainer talks, rests or explains":
    #   windows of NULL clips take its text features instead of their chapter's, so the text encoder learns one NULL
    #   point; the checkpoint keeps it as extra.null_embedding (mujo.train.null_anchor). None: chapters as they are
    null_labels: str | None = None  # which clips are NULL: "truth" (clips.csv's NULL label) or "curated" (the
    #   store's whole-clip "null" labels); the checkpoint then keeps extra.null_centroid. None: "truth" with a
    #   null_anchor, else no NULL handling at all
    threads: int | None = None  # torch intra-op threads of this process; None: torch's default (all cores)
    name: str = ""  # run name in the store (default: <method> <preset> <dataset name>)
    resume: bool = False  # continue the run in `out` (a fresh start when there is nothing to resume)
    overwrite: bool = False  # start over even though `out` holds a run

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


@dataclass
class Resolved:
    """Settings after applying the preset: every value concrete."""

    preset: Preset
    train: TrainConfig  # with method, modalities (None = all present), imu_sites, imu_channels resolved
    schedule: dict[str, float]  # lr, min_lr, warmup, cycle (epochs)
    monitor: str = "val_loss"  # the metric early stopping watches


def resolve(settings: PretrainSettings, dataset_sites: tuple[str, ...]) -> Resolved:
    """Apply the preset to the settings and check them against the dataset's IMU sites.

    Raises:
        ValueError: unknown method, modality, site or same_clip mode; too few modalities; non-positive sizes.
        mujo.config.ConfigError: unknown or broken preset.
    """
    preset = load_preset(settings.preset)
    base = preset.train
    over = {k: getattr(settings, k) for k in ("method", "epochs", "batch_size", "lr", "min_lr", "patience",
                                              "weight_decay", "seed") if getattr(settings, k) is not None}
    train = dataclasses.replace(base, **over)
    if train.method not in METHODS:
        raise ValueError(f"unknown method {train.method!r}; choose one of {', '.join(METHODS)}")
    if settings.same_clip not in SAME_CLIP:
        raise ValueError(f"same_clip must be one of {', '.join(SAME_CLIP)}, got {settings.same_clip!r}")
    for key in ("epochs", "batch_size"):
        if getattr(train, key) < 1:
            raise ValueError(f"{key} must be at least 1, got {getattr(train, key)}")
    if train.batch_size < 2:
        raise ValueError("batch_size must be at least 2 (a contrastive batch needs negatives)")

    modalities = settings.modalities if settings.modalities is not None else base.modalities
    if modalities is not None:
        known = ", ".join(m.value for m in Modality)
        bad = [m for m in modalities if m not in {x.value for x in Modality}]
        if bad:
            raise ValueError(f"unknown modality {', '.join(map(repr, bad))}; known: {known}")
        modalities = tuple(dict.fromkeys(modalities))
    if train.method != "mujo":
        if modalities is not None and tuple(modalities) != (Modality.IMU.value,):
            raise ValueError(f"method {train.method} trains the IMU encoder alone; drop --modalities or give imu")
        modalities = (Modality.IMU.value,)
    elif modalities is not None and len(modalities) < 2:
        raise ValueError(f"the contrastive objective needs at least two modalities, got {list(modalities)}")

    sites = tuple(settings.sites) if settings.sites is not None else (base.imu_sites or preset.model.imu_sites)
    unknown = [s for s in sites if s not in dataset_sites]
    if not sites or len(set(sites)) != len(sites):
        raise ValueError(f"IMU sites must be a non-empty list without repeats, got {list(sites)}")
    if unknown:
        raise ValueError(f"unknown IMU site(s) {', '.join(unknown)}: the dataset has {', '.join(dataset_sites)}")
    if settings.gyro is None:
        channels = tuple(base.imu_channels or preset.model.imu_channels)
    else:
        channels = ("acc", "gyro") if settings.gyro else ("acc",)
    channels = tuple(c for c in IMU_CHANNEL_GROUPS if c in channels)
    train = dataclasses.replace(train, modalities=modalities, imu_sites=sites, imu_channels=channels)

    check_null(settings, train.method, modalities)

    monitor = settings.monitor or base.monitor
    if settings.monitor is None and train.method != "mujo":
        monitor = "val_loss"  # the preset's ranking monitor exists only for the contrastive objective
    check_monitor(monitor, train.method, modalities)

    # The preset's warm-up and cycle belong to its epoch budget: a shorter (or longer) run keeps their shape.
    f = train.epochs / max(base.epochs, 1)
    schedule = {"lr": float(train.lr), "min_lr": float(min(train.min_lr, train.lr)),
                "warmup": float(settings.warmup_epochs if settings.warmup_epochs is not None
                                else base.warmup_epochs * f),
                "cycle": float(settings.cycle_epochs if settings.cycle_epochs is not None
                               else max(base.cycle_epochs * f, 1e-3))}
    return Resolved(preset=preset, train=train, schedule=schedule, monitor=monitor)


NULL_LABELS = ("truth", "curated")


def null_labels(settings: PretrainSettings) -> str | None:
    """Where the run's NULL clips come from ("truth" or "curated"), or None for a run without NULL handling."""
    return settings.null_labels or ("truth" if settings.null_anchor is not None else None)


def check_null(settings: PretrainSettings, method: str, modalities: tuple[str, ...] | None) -> None:
    """Raise ValueError for NULL settings the run cannot use."""
    if settings.null_labels is not None and settings.null_labels not in NULL_LABELS:
        raise ValueError(f"null_labels must be one of {', '.join(NULL_LABELS)}, got {settings.null_labels!r}")
    if settings.null_anchor is None:
        return
    if not isinstance(settings.null_anchor, str) or not settings.null_anchor.strip():
        raise ValueError("null_anchor must be a non-empty text (what NULL chapters are, e.g. \"no exercise: the "
                         "trainer talks, rests or explains\")")
    if method != "mujo":
        raise ValueError(f"a NULL anchor is a text for the contrastive objective; method {method} has no text")
    if modalities is not None and Modality.TEXT.value not in modalities:
        raise ValueError(f"a NULL anchor needs the text modality; the run trains on {list(modalities)}")


def check_monitor(monitor: str, method: str, modalities: tuple[str, ...] | None) -> None:
    """Raise ValueError for a monitor the run will not log."""
    if monitor == "val_loss":
        return
    if method != "mujo":
        raise ValueError(f"method {method} logs only val_loss to monitor, not {monitor!r}")
    kind, _, pair = monitor.removeprefix("val_").partition("_")
    names = [m.value for m in Modality]
    a, _, b = pair.partition("_")
    ok = monitor.startswith("val_") and (monitor == "val_top1" or (kind in ("top1", "loss") and a in names
                                                                  and b in names and names.index(a) < names.index(b)))
    if not ok:
        raise ValueError(f"unknown monitor {monitor!r}: use val_loss, val_top1, val_top1_<a>_<b> or val_loss_<a>_<b> "
                         f"with a before b in {' '.join(names)} (e.g. val_top1_pose_imu)")
    if pair and modalities is not None and not {a, b} <= set(modalities):
        raise ValueError(f"monitor {monitor!r} needs {a} and {b} among the modalities {list(modalities)}")


def maximized(monitor: str) -> bool:
    """Whether a monitor is a score (higher is better) rather than a loss."""
    return "top1" in monitor
