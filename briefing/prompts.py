"""Prompt templates: one Jinja2 file per pipeline step, in ``prompts/``.

Each file defines two blocks, ``system`` and ``user``; rendering a step gives the
chat messages. Templates run with ``StrictUndefined``: a variable brief does not
pass is an error that names the file and the variables it does pass.

Users copy the folder (``brief prompts copy DIR``) and point brief at it with
``--prompts DIR``; a step missing from their folder falls back to brief's own.

Article text is data, never instructions: templates place it with the ``fence``
filter, which wraps it in ``<tag>…</tag>`` and defuses any tag of that name inside
the text, so an article cannot close its own fence and speak as the prompt.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel

from briefing.errors import PromptError
from briefing.models import json_schema

STEPS = ("direct", "map", "merge", "story")
SUFFIX = ".j2"


def default_prompts_dir() -> Path:
    """brief's own prompts: inside the installed wheel, or ``prompts/`` of a checkout."""
    packaged = Path(str(resources.files("briefing"))) / "prompts"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "prompts"


FENCES = ("article", "notes", "sources")
_FENCE_TAG = re.compile(rf"<\s*(/?)\s*({'|'.join(FENCES)})\b", re.IGNORECASE)


def copy_defaults(target: Path) -> list[Path]:
    """Copy brief's prompt templates into ``target`` to edit them; files already
    there are kept (never overwritten). Returns the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(default_prompts_dir().glob("*" + SUFFIX)):
        destination = target / source.name
        if not destination.exists():
            destination.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
            written.append(destination)
    return written


def fence(text: str, tag: str = "article") -> str:
    """Wrap untrusted text in ``<tag>`` delimiters it cannot break out of: any tag
    of any fence brief uses, inside the text, loses its ``<``."""
    safe = _FENCE_TAG.sub(lambda m: f"‹{m.group(1)}{m.group(2)}", text)
    return f"<{tag}>\n{safe}\n</{tag}>"


@functools.cache  # the same few models on every call of a run
def field_guide(model: type[BaseModel]) -> str:
    """The output contract in a few lines the model can read: one line per field,
    nested item types listed after, each with its description. A field that every
    item type shares (``cites``) is described once, at the end."""
    schema = json_schema(model)
    defs: dict[str, Any] = schema.get("$defs", {})
    shared = _shared_fields(defs)
    lines: list[str] = []
    seen: set[str] = set()

    def describe(name: str, node: dict[str, Any]) -> None:
        lines.append(f"{name}: {node.get('description', '').strip()}".rstrip())
        for field, spec in node.get("properties", {}).items():
            if field in shared and node is not schema:
                continue
            note = spec.get("description", "")
            lines.append(f"  - {field} ({_kind(spec)}): {note}".rstrip(": "))
        for spec in node.get("properties", {}).values():
            ref = _ref(spec)
            if ref and ref not in seen:
                seen.add(ref)
                describe(ref, defs[ref])

    describe(schema.get("title", model.__name__), schema)
    for field, spec in shared.items():
        lines.append(f"Every item above also has {field} ({_kind(spec)}): {spec['description']}")
    return "\n".join(lines)


def _shared_fields(defs: dict[str, Any]) -> dict[str, Any]:
    """Fields with the same description in every item type (when there are several)."""
    if len(defs) < 2:
        return {}
    first, *rest = (node.get("properties", {}) for node in defs.values())
    return {
        name: spec
        for name, spec in first.items()
        if all(other.get(name, {}).get("description") == spec.get("description") for other in rest)
    }


def _ref(spec: dict[str, Any]) -> str | None:
    target = spec.get("items", spec).get("$ref") if isinstance(spec, dict) else None
    return target.rsplit("/", 1)[-1] if target else None


def _kind(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return " | ".join(json.dumps(value) for value in spec["enum"])
    if spec.get("type") == "array":
        ref = _ref(spec)
        return f"list of {ref}" if ref else f"list of {spec['items'].get('type', 'value')}"
    return str(spec.get("type", "value"))


class Prompts:
    """The prompt templates of a run: the user's folder first, then brief's own."""

    def __init__(
        self, folder: Path | None = None, *, compiled: jinja2.BytecodeCache | None = None
    ) -> None:
        if folder is not None and not folder.is_dir():
            raise PromptError(
                f"prompts folder {folder} does not exist. "
                "Create it with `brief prompts copy DIR`, or leave out --prompts."
            )
        self.folder = folder
        search = [str(folder)] if folder is not None else []
        search.append(str(default_prompts_dir()))
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
            bytecode_cache=compiled,
        )
        self.env.filters["fence"] = fence

    def template(self, step: str) -> jinja2.Template:
        name = step + SUFFIX
        try:
            return self.env.get_template(name)
        except jinja2.TemplateNotFound as err:
            raise PromptError(f"no prompt template {name} in {self._where()}.") from err
        except jinja2.TemplateSyntaxError as err:
            raise PromptError(
                f"{err.filename or name}, line {err.lineno}: {err.message}. Fix the template."
            ) from err

    def render(self, step: str, **variables: Any) -> list[dict[str, str]]:
        """The chat messages of ``step``: system then user."""
        template = self.template(step)
        blocks = template.blocks
        missing = {"system", "user"} - blocks.keys()
        if missing:
            raise PromptError(
                f"{template.filename}: needs blocks {', '.join(sorted(missing))} "
                "({% block system %}…{% endblock %} and {% block user %}…{% endblock %})."
            )
        try:
            context = template.new_context(variables)
            return [
                {"role": role, "content": "".join(blocks[role](context)).strip()}
                for role in ("system", "user")
            ]
        except jinja2.UndefinedError as err:
            raise PromptError(
                f"{template.filename}: {err.message}. Variables brief passes to {step}: "
                f"{', '.join(sorted(variables))}."
            ) from err
        except jinja2.TemplateNotFound as err:
            raise PromptError(
                f"{template.filename} includes {err.name}, which is not in {self._where()}."
            ) from err
        except jinja2.TemplateSyntaxError as err:
            raise PromptError(
                f"{err.filename or err.name}, line {err.lineno}: {err.message}. Fix the template."
            ) from err

    def _where(self) -> str:
        own = str(default_prompts_dir())
        return f"{self.folder} or {own}" if self.folder is not None else own
