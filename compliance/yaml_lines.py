"""Load YAML into plain data while remembering the line of every key, for error messages."""

import yaml

Path = tuple[str | int, ...]


class YamlError(Exception):
    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = ".".join(str(p) for p in path) or "(file)"
        at = f" (line {line})" if line else ""
        super().__init__(f"{where}{at}: {message}")


def load_with_lines(text: str) -> tuple[object, dict[Path, int]]:
    """Parse YAML; return the data and a map of key path -> 1-based line number."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise YamlError(
            (), mark.line + 1 if mark else None, f"not valid YAML: {getattr(exc, 'problem', exc)}"
        ) from None
    lines: dict[Path, int] = {}
    if root is None:
        return None, lines
    return _convert(root, (), lines), lines


def _convert(node: yaml.Node, path: Path, lines: dict[Path, int]) -> object:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = key_node.value
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _convert(value_node, path + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node, deep=True)


def unexpected_keys(value: dict, allowed: list[str], required: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """The first key of a mapping that is not allowed, or the first required one missing, with the message."""
    for key in value:
        if key not in allowed:
            return key, f"unknown field; expected one of {', '.join(allowed)}"
    for key in required:
        if key not in value:
            return "", f"{key} is required"
    return None
