"""Model and training settings as dataclasses; JSON presets in `mujo/presets/` hold only what differs from them."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from mujo.modality import Modality

PRESET_DIR = Path(__file__).parent / "presets"
IMU_CHANNEL_GROUPS = ("acc", "gyro")  # canonical order of the IMU channel groups in a window: [acc xyz, gyro xyz]


class ConfigError(ValueError):
    """A preset or config dict that cannot become a config (unknown key, wrong type, bad value)."""


@dataclass
class TextEncoderConfig:
    """Text encoder: linear layers over a precomputed text embedding (paper: one layer, 1536 -> 768)."""

    type: str = "text_mlp"  # encoder builder (mujo.models registry)
    hidden: tuple[int, ...] = (768,)  # output size of each linear layer; the last one is the encoder's output
    dropout: float = 0.6  # after every layer


@dataclass
class VideoEncoderConfig:
    """Video encoder: linear layers over window-averaged frame features (paper: 1024 -> 256 -> 256)."""

    type: str = "video_mlp"  # encoder builder
    hidden: tuple[int, ...] = (256, 256)  # output size of each linear layer
    dropout: float = 0.3  # after every layer


@dataclass
class PoseEncoderConfig:
    """Pose encoder: MM-Fit's three-layer CNN over (joint, time) with xyz as channels, then linear layers."""

    type: str = "pose_cnn"  # encoder builder
    channels: tuple[int, ...] = (9, 15, 24)  # output channels of the convolutions (MM-Fit)
    groups: tuple[int, ...] = (3, 3, 1)  # convolution groups (MM-Fit's grouped=[3, 3, 1]: per axis at first)
    kernel: tuple[int, int] = (11, 11)  # (joint, time)
    stride: tuple[int, int] = (2, 1)  # (joint, time); see mujo/models/pose.py for why joint, not time
    pool: tuple[int, int] = (2, 2)  # max-pool after the last convolution, (joint, time)
    fc: tuple[int, ...] = (1024, 1024)  # linear layers after the flatten
    dropout: float = 0.4  # after every linear layer


@dataclass
class SensorEncoderConfig:
    """IMU encoder: CNN with kernel (s_n, k) over all sensor rows in layer 1, then (1, k), (1, k), then linear."""

    type: str = "sensor_cnn"  # encoder builder
    channels: tuple[int, ...] = (9, 15, 24)  # output channels of the convolutions
    groups: tuple[int, ...] = (3, 3, 1)  # convolution groups (xyz kept apart in the first two layers)
    kernel: int = 11  # along time; layer 1 spans all s_n sensor rows
    stride: int = 1  # along time (Table 4's counts need 1)
    pool: int = 2  # max-pool along time after the last convolution
    fc: tuple[int, ...] = (512,)  # linear layers after the flatten
    dropout: float = 0.0  # after every linear layer (paper: none)


@dataclass
class ProjectionConfig:
    """Projection head: linear layers into the joint space (paper: three, hidden and output 1280)."""

    layers: int = 3  # linear layers; the last outputs ModelConfig.embed_dim
    hidden: int = 1280  # size of the hidden layers
    dropout: float = 0.4  # after every hidden layer
    norm: str = "layer"  # "layer": LayerNorm on the output (Table 4 counts 2 x 1280 more than 3 linears); "none"


@dataclass
class ModelConfig:
    """Everything needed to rebuild a joint model; a checkpoint stores it resolved."""

    model_type: str = "mujo"  # model class (mujo.models.joint.MODEL_TYPES)
    modalities: tuple[Modality, ...] = tuple(Modality)  # modalities with an encoder
    text_dim: int = 384  # text feature size (all-MiniLM-L6-v2: 384; OpenAI ada-002: 1536)
    video_dim: int = 300  # video feature size (offline mujo_flow descriptor: 300; HERO CLIP: 1024)
    window: int = 100  # samples per window (2 s at 50 Hz)
    pose_joints: int = 17  # joints per pose frame (H36M order)
    imu_sites: tuple[str, ...] = ("LWrist", "RWrist")  # IMU sites, in the order of the window's site axis
    imu_channels: tuple[str, ...] = ("acc",)  # channel groups per site, each 3 axes: "acc", "gyro"
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    video: VideoEncoderConfig = field(default_factory=VideoEncoderConfig)
    pose: PoseEncoderConfig = field(default_factory=PoseEncoderConfig)
    imu: SensorEncoderConfig = field(default_factory=SensorEncoderConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    embed_dim: int = 1280  # size of the joint space
    temperature: float = 1.0  # InfoNCE temperature (paper's best: 1.0); initial value when learnable
    learnable_temperature: bool = False  # learn log(temperature) as a model parameter
    temperature_range: tuple[float, float] = (0.01, 10.0)  # a learnable temperature is clamped into this
    loss: str = "all_pairs"  # "all_pairs" (paper) or "text_anchor" (only text-x pairs)

    def __post_init__(self) -> None:
        self.modalities = tuple(Modality(m) for m in self.modalities)
        if len(set(self.modalities)) != len(self.modalities) or not self.modalities:
            raise ConfigError(f"modalities must be a non-empty list without repeats, got {list(self.modalities)}")
        self.imu_sites = tuple(self.imu_sites)
        if not self.imu_sites or len(set(self.imu_sites)) != len(self.imu_sites):
            raise ConfigError(f"imu_sites must be a non-empty list without repeats, got {list(self.imu_sites)}")
        bad = [c for c in self.imu_channels if c not in IMU_CHANNEL_GROUPS]
        if bad or not self.imu_channels or len(set(self.imu_channels)) != len(self.imu_channels):
            raise ConfigError(f"imu_channels must be a non-empty subset of {IMU_CHANNEL_GROUPS}, got "
                              f"{list(self.imu_channels)}")
        # The window bank always lays out [acc xyz, gyro xyz], whatever order they were asked in.
        self.imu_channels = tuple(c for c in IMU_CHANNEL_GROUPS if c in self.imu_channels)
        if self.loss not in ("all_pairs", "text_anchor"):
            raise ConfigError(f"loss must be 'all_pairs' or 'text_anchor', got {self.loss!r}")
        lo, hi = self.temperature_range
        if not 0 < lo <= self.temperature <= hi:
            raise ConfigError(f"temperature {self.temperature} must lie in temperature_range {lo}..{hi} (> 0)")

    def encoder_config(self, modality: Modality) -> Any:
        """The encoder settings of a modality: the field named by the modality's value."""
        name = Modality(modality).value
        if not hasattr(self, name):
            raise ConfigError(f"ModelConfig has no '{name}' field with the {name} encoder's settings")
        return getattr(self, name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field (what a checkpoint's config.json holds)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        """Build from a (possibly partial) dict; unknown keys are an error, missing keys take the defaults."""
        return from_dict(cls, d)


@dataclass
class TrainConfig:
    """Pre-training settings (paper section 4); the training loop reads only these."""

    method: str = "mujo"  # "mujo" (contrastive), or a proxy baseline: "multitask", "autoencoder", "simclr"
    modalities: tuple[str, ...] | None = None  # modalities to train on; None: all the bank has
    imu_sites: tuple[str, ...] | None = None  # IMU sites to train on; None: the model config's
    imu_channels: tuple[str, ...] | None = None  # IMU channel groups; None: the model config's
    batch_size: int = 256  # windows per batch (per process under DDP)
    epochs: int = 200  # at most
    patience: int = 50  # early stopping: epochs without a better validation loss
    lr: float = 8e-4  # AdamW peak learning rate
    weight_decay: float = 0.01  # AdamW (PyTorch's default; the paper does not say)
    warmup_epochs: int = 34  # linear warm-up
    cycle_epochs: int = 33  # cosine annealing period after the warm-up (paper: "33 iterations")
    min_lr: float = 3.0398e-06  # cosine floor
    seed: int = 0  # model init and batch order
    monitor: str = "val_loss"  # early stopping and best model: val_loss (paper) or val_top1 (in-batch top-1)


@dataclass
class Preset:
    """A named preset: model and training settings and a one-line description."""

    name: str
    model: ModelConfig
    train: TrainConfig
    description: str = ""


def preset_names() -> list[str]:
    """Names of the presets shipped with the package."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name_or_path: str | Path) -> Preset:
    """Load a preset by name (`paper`, `small`) or from a JSON file.

    The file holds `model_type` (required, explicit), optional `description`, and `model` / `train` dicts with only
    the fields that differ from ModelConfig / TrainConfig defaults (nested settings are merged field by field).

    Raises:
        ConfigError: unknown preset, unreadable JSON, missing model_type, unknown or mistyped fields.
    """
    path = Path(name_or_path)
    if path.suffix != ".json":
        if str(name_or_path) not in preset_names():
            raise ConfigError(f"unknown preset {str(name_or_path)!r}; presets: {', '.join(preset_names())} "
                              "(or give a .json file)")
        path = PRESET_DIR / f"{name_or_path}.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ConfigError(f"cannot read preset {path}: {e}") from e
    if not isinstance(raw, dict):
        raise ConfigError(f"preset {path}: expected a JSON object")
    extra = set(raw) - {"model_type", "description", "model", "train"}
    if extra:
        raise ConfigError(f"preset {path}: unknown top-level keys {sorted(extra)}")
    if "model_type" not in raw:
        raise ConfigError(f"preset {path}: missing 'model_type' (e.g. \"mujo\"); it is never guessed")
    model = raw.get("model", {})
    if not isinstance(model, dict) or not isinstance(raw.get("train", {}), dict):
        raise ConfigError(f"preset {path}: 'model' and 'train' must be JSON objects")
    if "model_type" in model:
        raise ConfigError(f"preset {path}: put model_type at the top level, not inside 'model'")
    try:
        return Preset(name=path.stem, model=from_dict(ModelConfig, {"model_type": raw["model_type"], **model}),
                      train=from_dict(TrainConfig, raw.get("train", {})), description=raw.get("description", ""))
    except ConfigError as e:
        raise ConfigError(f"preset {path}: {e}") from e


def with_overrides(config: Any, **overrides: Any) -> Any:
    """A copy of a config dataclass with fields replaced; a dict for a nested dataclass is merged into it."""
    return from_dict(type(config), _merge(to_dict(config), to_dict_value(overrides)))


def to_dict(obj: Any) -> dict[str, Any]:
    """A JSON-able dict of a config dataclass (tuples as lists, enums as their values)."""
    return {f.name: to_dict_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def to_dict_value(v: Any) -> Any:
    """A JSON-able copy of a config value."""
    if isinstance(v, Enum):
        return v.value
    if dataclasses.is_dataclass(v):
        return to_dict(v)
    if isinstance(v, dict):
        return {str(k): to_dict_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_dict_value(x) for x in v]
    return v


def from_dict(cls: type, d: dict[str, Any]) -> Any:
    """Build dataclass `cls` from a partial dict, checking keys and value types against the annotations."""
    if not isinstance(d, dict):
        raise ConfigError(f"{cls.__name__}: expected an object, got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__}: unknown field(s) {unknown}; known: {sorted(names)}")
    kwargs = {k: _coerce(hints[k], v, f"{cls.__name__}.{k}") for k, v in d.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(str(e)) from e


def _coerce(hint: Any, v: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if v is None and type(None) in args:
            return None
        return _coerce(next(a for a in args if a is not type(None)), v, where)
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, v)
    if origin is tuple:
        if not isinstance(v, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {v!r}")
        item = args[0] if args and (len(args) == 2 and args[1] is Ellipsis) else None
        if item is None and args and len(args) != len(v):
            raise ConfigError(f"{where}: expected {len(args)} values, got {list(v)}")
        return tuple(_coerce(item or args[i], x, where) for i, x in enumerate(v))
    if hint is float:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ConfigError(f"{where}: expected a number, got {v!r}")
        return float(v)
    if isinstance(hint, type) and issubclass(hint, str) and hint is not str and isinstance(v, str):
        try:
            return hint(v)  # an enum such as Modality
        except ValueError as e:
            raise ConfigError(f"{where}: {e}") from e
    if hint in (int, str, bool) and type(v) is not hint:
        raise ConfigError(f"{where}: expected {hint.__name__}, got {v!r}")
    return v


def _merge(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in new.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
