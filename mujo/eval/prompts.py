"""Zero-shot prompts: templates with one "{}" times a readable phrase per class (prompt ensembling, CLIP-style)."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from mujo.datasets.base import readable

# Short sentences close to the chapter titles the text encoder was trained on; "{}" is the class phrase.
DEFAULT_TEMPLATES: tuple[str, ...] = (
    "{}",
    "a person {}",
    "a person is {}",
    "someone doing {}",
    "a video of a person {}",
    "a person performing {}",
)

SLOT = "{}"


class PromptError(ValueError):
    """A template or class phrase that cannot make prompts; the message names it and what is wrong."""


def check_template(template: str) -> str:
    """The template, stripped, if it holds exactly one "{}" and no other braces; else PromptError.

    Other braces are refused rather than passed to str.format, where "{0}" or "{name}" would fail obscurely.
    """
    if not isinstance(template, str):
        raise PromptError(f"template {template!r} must be text")
    t = template.strip()
    n = t.count(SLOT)
    if n != 1:
        found = "none" if n == 0 else f"{n}"
        raise PromptError(f"template {template!r} must contain exactly one {SLOT} where the class phrase goes "
                          f"(found {found}), e.g. \"a person {SLOT}\"")
    rest = t.replace(SLOT, "")
    if "{" in rest or "}" in rest:
        raise PromptError(f"template {template!r} has braces other than the one {SLOT} (write the class slot as "
                          f"{SLOT} and leave out other braces)")
    return t


def check_templates(templates: Iterable[str]) -> tuple[str, ...]:
    """Validated templates in order, duplicates and blank lines dropped; PromptError when none is left."""
    out: list[str] = []
    for t in templates:
        if isinstance(t, str) and not t.strip():
            continue
        t = check_template(t)
        if t not in out:
            out.append(t)
    if not out:
        raise PromptError(f"give at least one prompt template with {SLOT} (e.g. \"a person {SLOT}\")")
    return tuple(out)


def parse_templates(text: str) -> tuple[str, ...]:
    """Templates from a text area, one per line (blank lines ignored), validated."""
    return check_templates(text.splitlines())


def class_phrases(classes: Sequence[str], dataset_prompts: Mapping[str, str] | None = None,
                  class_text: Mapping[str, str] | None = None) -> dict[str, str]:
    """The phrase that stands for each class in the prompts.

    Args:
        classes: class names in label order (NULL included or not; NULL's phrase is only used by a prompt-based
            NULL embedding).
        dataset_prompts: the dataset's readable phrases (`DatasetInfo.prompts`), e.g. {"dws": "walking downstairs"}.
        class_text: the user's overrides (win over the dataset's).
    Returns:
        {class: phrase}; a class without a phrase gets its name made readable.
    Raises:
        PromptError: class_text names a class the dataset does not have, or gives an empty phrase.
    """
    given = dict(class_text or {})
    unknown = [c for c in given if c not in classes]
    if unknown:
        raise PromptError(f"class_text names class(es) {', '.join(map(repr, unknown))} that the dataset does not "
                          f"have; its classes are {', '.join(classes)}")
    out = {}
    for c in classes:
        phrase = given.get(c, (dataset_prompts or {}).get(c) or readable(c))
        phrase = " ".join(str(phrase).split())
        if not phrase:
            raise PromptError(f"class {c!r} has an empty phrase; write what the activity is, e.g. \"walking\"")
        out[c] = phrase
    return out


def expand(phrases: Mapping[str, str], templates: Sequence[str]) -> dict[str, list[str]]:
    """Every template filled with every class phrase: {class: [prompt, ...]} (repeats within a class dropped).

    Filled by replacing the "{}" (not str.format), so a phrase with braces stays as it is.
    """
    templates = check_templates(templates)
    return {c: list(dict.fromkeys(t.replace(SLOT, p) for t in templates)) for c, p in phrases.items()}
