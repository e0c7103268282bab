#!/usr/bin/env python3
"""Renders the reference outputs of the chat-template tests with Python's jinja2.

The environment is the one Hugging Face transformers uses in apply_chat_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols
extension and a {% generation %} block (transformers' AssistantTracker, which renders its body as
a call block), a tojson filter that is json.dumps (ensure_ascii=False, optional indent, no key
sorting, no HTML escaping), and the raise_exception and strftime_now globals.

Each conversation under templates/conversations/ is turned into template variables with the same
rules as ChatTemplate.contextOf (see to_context below), every template under templates/ is
rendered with every conversation, and the result is written to
templates/expected/<template>__<conversation>.txt, or, when the template calls
raise_exception, the message to templates/expected/<template>__<conversation>.error.txt.
Any other error stops the script: the test templates must render.

The snippets under templates/snippets/snippets.txt (small templates, separated by lines
"=== name"; a name containing "crlf" gets CRLF line ends) are rendered with the variables in
templates/snippets/context.json; the results go to templates/snippets/expected.json as
{"name": {"out": text}} or {"name": {"error": "ExceptionType: message", "raised": bool}}, where
"raised" marks a raise_exception call.

Randomly generated templates (a fixed seed, so the set is the same on every run) exercise
whitespace control and expressions in combination; they go with jinja2's results to
templates/fuzz/cases.json.

Re-run from the repository root after changing a template or a conversation:

    python3 llm-core/src/test/python/render_references.py

(needs only jinja2; tested with jinja2 3.1.6). Commit the regenerated files.
"""
import json
import os
import pathlib
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parents[1] / "resources" / "templates"
REPO = pathlib.Path(__file__).resolve().parents[4]
FIXED_NOW = datetime(2026, 1, 15, 9, 30, 0)


class RaisedByTemplate(Exception):
    pass


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}, rendered like transformers' AssistantTracker does
    when no assistant mask is requested: the body, as a call block."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        call = self.call_method("_body")
        return jinja2.nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise RaisedByTemplate(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        # A fixed instant, so that the references do not depend on the day they were made; the Java
        # test renders with a clock fixed at the same instant.
        return FIXED_NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def to_context(conv):
    messages = []
    pending_ids = []
    for m in conv["messages"]:
        d = {"role": m["role"], "content": m["content"]}
        if m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                call = {}
                if c.get("id"):
                    call["id"] = c["id"]
                call["type"] = "function"
                call["function"] = {"name": c["name"], "arguments": c["arguments"]}
                calls.append(call)
            d["tool_calls"] = calls
        if m["role"] == "tool":
            call_id = pending_ids.pop(0) if pending_ids else None
            if call_id:
                d["tool_call_id"] = call_id
            if m.get("name"):
                d["name"] = m["name"]
        else:
            pending_ids = [c.get("id", "") for c in m.get("tool_calls") or []]
        messages.append(d)
    tools = None
    if conv.get("tools"):
        tools = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                                   "parameters": t["parameters"]}} for t in conv["tools"]]
    ctx = {"messages": messages, "tools": tools, "documents": None,
           "add_generation_prompt": conv["add_generation_prompt"]}
    if conv.get("bos_token") is not None:
        ctx["bos_token"] = conv["bos_token"]
    if conv.get("eos_token") is not None:
        ctx["eos_token"] = conv["eos_token"]
    ctx.update(conv.get("variables", {}))
    return ctx


def read_snippets(path):
    snippets = {}
    name = None
    lines = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if line.startswith("=== "):
            if name is not None:
                snippets[name] = "\n".join(lines)
            name = line[4:].strip()
            lines = []
        else:
            lines.append(line)
    if name is not None:
        snippets[name] = "\n".join(lines[:-1] if lines and lines[-1] == "" else lines)
    for key in snippets:
        if "crlf" in key:
            snippets[key] = snippets[key].replace("\n", "\r\n")
    return snippets


def render_snippets(env):
    folder = ROOT / "snippets"
    context = json.loads((folder / "context.json").read_text(encoding="utf-8"))
    results = {}
    for name, source in read_snippets(folder / "snippets.txt").items():
        try:
            results[name] = {"out": env.from_string(source).render(**context)}
        except RaisedByTemplate as e:
            results[name] = {"error": f"TemplateError: {e}", "raised": True}
        except Exception as e:
            results[name] = {"error": f"{type(e).__name__}: {e}", "raised": False}
    (folder / "expected.json").write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8", newline="")
    errors = sum(1 for r in results.values() if "error" in r)
    print(f"{len(results)} snippets: {len(results) - errors} rendered, {errors} failed as expected")


FUZZ_TEXT = ["", " ", "  ", "\t", "\n", "\n\n", " \n", "\n ", "\n  ", "  \n  ", "x", " x ", "x\n",
             "\nx", "\r\n", " \t \n\t", "\u00a0", "\u3000\n"]
FUZZ_VALUES = ["1", "2.5", "'s'", "\"q'\"", "none", "true", "false", "[1, 'a']", "{'k': 1}", "(1, 2)", "n", "f",
               "s", "lst", "d", "nothing", "undefined_x", "people[0]", "messages[1].content", "-3", "0", "''", "[]",
               "1e3", "0.1", "people[1].name", "d.a"]
FUZZ_OPS = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "and", "or", "in", "not in", "**"]
FUZZ_FILTERS = ["length", "string", "upper", "lower", "trim", "tojson", "list", "first", "last", "default('D')",
                "int", "float", "abs", "round", "title", "capitalize", "sort", "unique|list", "join('-')", "e",
                "wordcount", "count", "dictsort", "sum", "min", "max", "tojson(indent=1)", "replace('a', 'b')",
                "center(7)", "truncate(5)", "map('string')|list", "select|list", "reject|list", "items|list"]
FUZZ_TESTS = ["defined", "none", "string", "number", "mapping", "iterable", "sequence", "odd", "even", "true",
              "false", "boolean", "integer", "float", "lower", "upper", "undefined"]


def fuzz_whitespace(rnd):
    def sign():
        return rnd.choice(["", "", "-", "+"])

    def vsign():
        return rnd.choice(["", "", "-"])

    def text():
        return "".join(rnd.choice(FUZZ_TEXT) for _ in range(rnd.randint(0, 3)))

    def block(depth=0):
        out = []
        for _ in range(rnd.randint(1, 6)):
            r = rnd.random()
            out.append(text())
            if r < 0.2:
                out.append("{{" + vsign() + " 'v' " + vsign() + "}}")
            elif r < 0.35:
                out.append("{#" + sign() + " c\n " + sign() + "#}")
            elif r < 0.55 and depth < 3:
                out.append("{%" + sign() + " if true " + sign() + "%}" + block(depth + 1) + text() + "{%" + sign()
                           + " else " + sign() + "%}" + text() + "{%" + sign() + " endif " + sign() + "%}")
            elif r < 0.7 and depth < 3:
                out.append("{%" + sign() + " for i in range(2) " + sign() + "%}" + block(depth + 1) + "{%" + sign()
                           + " endfor " + sign() + "%}")
            elif r < 0.8:
                out.append("{%" + sign() + " set x = 1 " + sign() + "%}")
            elif r < 0.85:
                out.append("{%" + sign() + " raw " + sign() + "%}" + text() + "{{ r }}" + text() + "{%" + sign()
                           + " endraw " + sign() + "%}")
            elif r < 0.9 and depth < 3:
                out.append("{%" + sign() + " macro m() " + sign() + "%}" + block(depth + 1) + "{%" + sign()
                           + " endmacro " + sign() + "%}{{ m() }}")
        out.append(text())
        return "".join(out)

    return block()


def fuzz_expression(rnd):
    def expr(depth=0):
        r = rnd.random()
        if depth > 2 or r < 0.3:
            return rnd.choice(FUZZ_VALUES)
        if r < 0.5:
            return f"{expr(depth + 1)} {rnd.choice(FUZZ_OPS)} {expr(depth + 1)}"
        if r < 0.65:
            return f"{expr(depth + 1)}|{rnd.choice(FUZZ_FILTERS)}"
        if r < 0.75:
            return f"{expr(depth + 1)} is {'not ' if rnd.random() < 0.3 else ''}{rnd.choice(FUZZ_TESTS)}"
        if r < 0.82:
            return f"not {expr(depth + 1)}"
        if r < 0.9:
            return f"({expr(depth + 1)} if {expr(depth + 1)} else {expr(depth + 1)})"
        if r < 0.95:
            index = rnd.choice(["0", "-1", "'k'", "'name'"])
            return f"{expr(depth + 1)}[{index}]"
        return f"[{expr(depth + 1)}, {expr(depth + 1)}]"

    parts = []
    for _ in range(rnd.randint(1, 4)):
        r = rnd.random()
        if r < 0.6:
            parts.append("{{ " + expr() + " }}")
        elif r < 0.8:
            parts.append("{% if " + expr() + " %}T{% else %}F{% endif %}")
        else:
            parts.append("{% for x in " + rnd.choice(["lst", "d", "people", "'ab'", "[]", "range(3)"])
                         + " %}{{ " + expr() + " }},{% endfor %}")
        parts.append(rnd.choice(["", " ", "\n"]))
    return "".join(parts)


def render_fuzz(env):
    import copy
    import random
    context = json.loads((ROOT / "snippets" / "context.json").read_text(encoding="utf-8"))
    cases = []
    for kind, seed, count, make in (("whitespace", 2024, 800, fuzz_whitespace),
                                    ("expression", 7, 800, fuzz_expression)):
        rnd = random.Random(seed)
        for _ in range(count):
            source = make(rnd)
            case = {"kind": kind, "source": source}
            try:
                case["out"] = env.from_string(source).render(**copy.deepcopy(context))
            except Exception as e:
                case["error"] = f"{type(e).__name__}: {e}"
            cases.append(case)
    folder = ROOT / "fuzz"
    folder.mkdir(exist_ok=True)
    (folder / "cases.json").write_text(json.dumps(cases, ensure_ascii=False, indent=0) + "\n",
                                       encoding="utf-8", newline="")
    errors = sum(1 for c in cases if "error" in c)
    print(f"{len(cases)} generated templates: {len(cases) - errors} rendered, {errors} failed")


def main():
    env = make_env()
    out_dir = ROOT / "expected"
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    templates = sorted(ROOT.glob("*.jinja"))
    conversations = sorted((ROOT / "conversations").glob("*.json"))
    rendered = raised = 0
    for tpath in templates:
        template = env.from_string(tpath.read_text(encoding="utf-8"))
        for cpath in conversations:
            conv = json.loads(cpath.read_text(encoding="utf-8"))
            name = f"{tpath.stem}__{cpath.stem}"
            try:
                text = template.render(**to_context(conv))
                (out_dir / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
                rendered += 1
            except RaisedByTemplate as e:
                (out_dir / f"{name}.error.txt").write_text(str(e), encoding="utf-8", newline="")
                raised += 1
            except Exception as e:
                sys.exit(f"{name}: {type(e).__name__}: {e}")
    print(f"{len(templates)} templates x {len(conversations)} conversations: "
          f"{rendered} rendered, {raised} raised by the template")
    render_snippets(env)
    render_fuzz(env)
    render_shared(env, conversations)
    render_format_cases(env)


FORMAT_CASES = [
    # (case name, published template, conversation, arguments as JSON text, extra variables)
    ("functionary_v3_2_tool_result", "meetkai-functionary-medium-v3.2", "06_tool_call_result", True, {}),
    ("functionary_v3_2_parallel", "meetkai-functionary-medium-v3.2", "07_parallel_calls", True, {}),
    ("qwen3_think_off", "Qwen-Qwen3-0.6B", "06_tool_call_result", False, {"enable_thinking": False}),
    ("qwen3_think_on", "Qwen-Qwen3-0.6B", "12_reasoning", False, {"enable_thinking": True}),
    ("qwen35_think_off", "Qwen3.5-4B", "06_tool_call_result", False, {"enable_thinking": False}),
]


def render_format_cases(env):
    """Renders published templates the way the chat-format layer passes a conversation to some families:
    functionary v3.2 takes tool-call arguments as JSON text (json.dumps), Qwen3 gets enable_thinking.
    Results go to templates/format-expected/<case>.txt."""
    shared = pathlib.Path(os.environ.get("LOCALLM_SHARED_DIR", REPO.parent / "shared")) / "chat-templates"
    out_dir = ROOT / "format-expected"
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    for case, tname, cname, args_as_text, variables in FORMAT_CASES:
        template = env.from_string((shared / f"{tname}.jinja").read_text(encoding="utf-8"))
        conv = json.loads((ROOT / "conversations" / f"{cname}.json").read_text(encoding="utf-8"))
        ctx = to_context(conv)
        if args_as_text:
            for m in ctx["messages"]:
                for c in m.get("tool_calls") or []:
                    c["function"]["arguments"] = json.dumps(c["function"]["arguments"], ensure_ascii=False)
        ctx.update(variables)
        (out_dir / f"{case}.txt").write_text(template.render(**ctx), encoding="utf-8", newline="")
    print(f"{len(FORMAT_CASES)} chat-format cases rendered")


def render_shared(env, conversations):
    """Renders the published templates under ../shared/chat-templates/ (beside the checkout; never copied
    into the repository) with every test conversation. The outputs go to templates/shared-expected/ as
    <template>__<conversation>.txt; a raise_exception message to .error.txt; any other jinja2 failure
    (the template cannot render that conversation at all) as "ExceptionType" to .refused.txt."""
    shared = pathlib.Path(os.environ.get("LOCALLM_SHARED_DIR", REPO.parent / "shared")) / "chat-templates"
    out_dir = ROOT / "shared-expected"
    out_dir.mkdir(exist_ok=True)
    for old in out_dir.glob("*.txt"):
        old.unlink()
    counts = {"rendered": 0, "raised": 0, "refused": 0}
    templates = sorted(shared.glob("*.jinja"))
    for tpath in templates:
        try:
            template = env.from_string(tpath.read_text(encoding="utf-8"))
        except Exception as e:
            for cpath in conversations:
                (out_dir / f"{tpath.stem}__{cpath.stem}.refused.txt").write_text(
                    type(e).__name__, encoding="utf-8", newline="")
                counts["refused"] += 1
            continue
        for cpath in conversations:
            conv = json.loads(cpath.read_text(encoding="utf-8"))
            name = f"{tpath.stem}__{cpath.stem}"
            try:
                text = template.render(**to_context(conv))
                (out_dir / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
                counts["rendered"] += 1
            except RaisedByTemplate as e:
                (out_dir / f"{name}.error.txt").write_text(str(e), encoding="utf-8", newline="")
                counts["raised"] += 1
            except Exception as e:
                (out_dir / f"{name}.refused.txt").write_text(type(e).__name__, encoding="utf-8", newline="")
                counts["refused"] += 1
    print(f"{len(templates)} published templates x {len(conversations)} conversations: {counts}")


if __name__ == "__main__":
    main()
