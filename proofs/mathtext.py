r"""Text with math: statements, titles and justifications for LaTeX and for the terminal.

What stands between ``$`` signs is LaTeX math and passes through (:func:`text_latex`); the rest
is text and is escaped (:func:`tex_escape`). :func:`plain_text` gives the terminal form
(``\sigma^2`` becomes ``σ²``). Text is never evaluated: it is only split at ``$`` and its
macros are looked up in a table. :func:`tex_width` estimates the printed width of LaTeX math,
which :mod:`.printing` uses to break long relations.
"""

from __future__ import annotations

import re

__all__ = ["tex_escape", "text_latex", "plain_text", "tex_width", "TEXT_WIDTH"]

_TEX_SPECIAL = {"\\": r"$\backslash$", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
                "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$", "<": "$<$", ">": "$>$", "|": "$|$"}

#: estimated width (in characters of 11pt math, see :func:`tex_width`) of one display line: a
#: character is about 6.2 pt in 11pt display math (measured), the text width 500 pt
TEXT_WIDTH = 72


def tex_escape(text):
    """``text`` safe inside a LaTeX text argument (``\\text{...}`` or a paragraph)."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(text))


# ---------------------------------------------------------------------- text with $math$
def _split_math(text):
    """``[(is_math, piece), ...]`` of ``text``; ``\\$`` is a literal dollar. Unbalanced ``$``: all text."""
    parts, buf, math, i = [], [], False, 0
    text = str(text)
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text[i + 1:i + 2] == "$":
            buf.append("\\$" if math else "$")
            i += 2
            continue
        if ch == "$":
            parts.append((math, "".join(buf)))
            buf, math = [], not math
        else:
            buf.append(ch)
        i += 1
    if math:  # an unclosed $: the whole string is text
        return [(False, text.replace("\\$", "$"))]
    parts.append((False, "".join(buf)))
    return [(m, p) for m, p in parts if p]


def text_latex(text):
    """LaTeX of a statement: ``$...$`` passes through as math, the rest is escaped text."""
    return "".join(f"${p}$" if m else tex_escape(p) for m, p in _split_math(text))


def plain_text(text, encoding=None):
    """The terminal form of a statement: its ``$...$`` math as readable Unicode text.

    With ``encoding`` (a terminal's, such as ``sys.stdout.encoding``), characters it cannot
    encode are spelled in ASCII (``σ`` as ``sigma``, ``²`` as ``^2``, ``≤`` as ``<=``).
    """
    out = "".join(_math_plain(p) if m else p for m, p in _split_math(text))
    return out if encoding is None else _encodable(out, encoding)


_ASCII = {"≤": "<=", "≥": ">=", "≠": "!=", "≈": "~=", "→": "->", "⇒": "=>", "⇔": "<=>", "∞": "inf", "Σ": "sum",
          "Π": "prod", "∫": "int", "·": "*", "×": "x", "±": "+-", "∈": " in ", "⌈": "ceil(", "⌉": ")",
          "⌊": "floor(", "⌋": ")", "‖": "||", "⟨": "<", "⟩": ">", "ᵀ": "^T", "…": "...", "∂": "d", "√": "sqrt",
          "ℓ": "l", "≫": ">>", "≪": "<<", "∝": "~", "∅": "{}", "∖": "\\", "∘": "o", "\u0304": "bar",
          "\u0302": "hat", "\u0303": "tilde", "ⱼ": "_j"}


def _encodable(text, encoding):
    import codecs
    import unicodedata

    try:
        enc = codecs.lookup(encoding).name
    except LookupError:
        enc = "ascii"

    def ok(s):
        try:
            s.encode(enc)
            return True
        except UnicodeEncodeError:
            return False

    def script_run(m):  # a run of super- or subscripts, spelled as one: Φ⁻¹ as Phi^(-1), pⱼ as p_j
        run = m.group(0)
        if ok(run):
            return run
        table, mark = (_SUP, "^") if run[0] in _SUP_CHARS else (_SUB, "_")
        back = {v: k for k, v in table.items() if k.isascii()}
        plain = "".join(back.get(ch, ch) for ch in run)
        return mark + (plain if len(plain) == 1 or plain.isalnum() else f"({plain})")

    text = re.sub("[%s]+|[%s]+" % (re.escape(_SUP_CHARS), re.escape(_SUB_CHARS)), script_run, text)
    out = []
    for ch in text:
        try:
            ch.encode(enc)
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        name = unicodedata.name(ch, "")
        if ch in _ASCII:
            out.append(_ASCII[ch])
        elif name.startswith("GREEK"):
            letter = name.split()[-1].lower()
            letter = letter.capitalize() if "CAPITAL" in name else letter
            if out and out[-1][-1:].isalnum():  # 2γ as 2 gamma, not 2gamma
                letter = " " + letter
            out.append(letter)
        elif name.startswith(("SUPERSCRIPT", "SUBSCRIPT", "MODIFIER LETTER SMALL", "LATIN SUBSCRIPT")):
            mark = "^" if "SUPER" in name or "MODIFIER" in name else "_"
            word = name.split()[-1]
            sym = {"PLUS": "+", "MINUS": "-", "EQUALS": "=", "LEFT": "(", "RIGHT": ")"}.get(word, word)
            digits = {"ZERO": "0", "ONE": "1", "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6",
                      "SEVEN": "7", "EIGHT": "8", "NINE": "9"}
            out.append(mark + digits.get(sym, sym.lower() if len(sym) == 1 else sym))
        else:
            out.append("?")
    return "".join(out)


_GREEK = {name: chr(code) for name, code in [
    ("alpha", 0x3b1), ("beta", 0x3b2), ("gamma", 0x3b3), ("delta", 0x3b4), ("epsilon", 0x3b5),
    ("varepsilon", 0x3b5), ("zeta", 0x3b6), ("eta", 0x3b7), ("theta", 0x3b8), ("kappa", 0x3ba),
    ("lambda", 0x3bb), ("mu", 0x3bc), ("nu", 0x3bd), ("xi", 0x3be), ("pi", 0x3c0), ("rho", 0x3c1),
    ("sigma", 0x3c3), ("tau", 0x3c4), ("phi", 0x3c6), ("varphi", 0x3c6), ("chi", 0x3c7), ("psi", 0x3c8),
    ("omega", 0x3c9), ("Gamma", 0x393), ("Delta", 0x394), ("Theta", 0x398), ("Lambda", 0x39b),
    ("Pi", 0x3a0), ("Sigma", 0x3a3), ("Phi", 0x3a6), ("Psi", 0x3a8), ("Omega", 0x3a9)]}
_SYMBOLS = {"le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "sim": "~", "approx": "≈",
            "to": "→", "rightarrow": "→", "infty": "∞", "sum": "Σ", "prod": "Π", "int": "∫", "cdot": "·",
            "times": "×", "pm": "±", "in": "∈", "lceil": "⌈", "rceil": "⌉", "lfloor": "⌊", "rfloor": "⌋",
            "|": "‖", "lVert": "‖", "rVert": "‖", "Vert": "‖", "lvert": "|", "rvert": "|", "mid": "|",
            "langle": "⟨", "rangle": "⟩", "top": "ᵀ", "dots": "…", "ldots": "…", "cdots": "…",
            "partial": "∂", "{": "{", "}": "}", ",": " ", ";": " ", "!": "", " ": " ", "quad": "  ",
            "qquad": "   ", "implies": "⇒", "iff": "⇔", "gg": "≫", "ll": "≪", "propto": "∝", "ell": "ℓ",
            "emptyset": "∅", "setminus": "∖", "circ": "∘", "lt": "<", "gt": ">"}
_NAMED = ("ln", "log", "exp", "max", "min", "sup", "inf", "lim", "det", "tr", "sin", "cos", "arg", "Pr")
_SIZING = ("left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl", "biggr",
           "displaystyle", "textstyle", "limits", "nolimits")
_FONTS = ("mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "operatorname", "text", "textrm",
          "mathbb", "boldsymbol", "textit", "emph")
_SUP = dict(zip("0123456789+-=()nikTᵀ", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵏᵀᵀ"))
_SUB = dict(zip("0123456789+-=()aeijknoprstux", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₙₒₚᵣₛₜᵤₓ"))
_SUP_CHARS = "".join(sorted(set(_SUP.values())))
_SUB_CHARS = "".join(sorted(set(_SUB.values())))
_ACCENT = {"bar": "\u0304", "hat": "\u0302", "tilde": "\u0303", "overline": "\u0304", "widehat": "\u0302"}


def _tokens(tex):
    return re.findall(r"\\[A-Za-z]+|\\.|[{}^_]|\s+|[^\\{}^_\s]", tex)


def _group(toks, i):
    """The argument starting at ``toks[i]``: ``(tokens of a {...} group or one token, next index)``."""
    while i < len(toks) and toks[i].isspace():
        i += 1
    if i >= len(toks):
        return [], i
    if toks[i] != "{":
        return [toks[i]], i + 1
    depth, j = 0, i
    while j < len(toks):
        depth += toks[j] == "{"
        depth -= toks[j] == "}"
        if depth == 0:
            return toks[i + 1:j], j + 1
        j += 1
    return toks[i + 1:], len(toks)


def _wrap(s):
    """``s`` in parentheses when it has a space or an operator outside brackets (``a + b``, not ``e^(x)``)."""
    s = s.strip()
    depth = 0
    for ch in s:
        depth += ch in "([{⌈⌊"
        depth -= ch in ")]}⌉⌋"
        if depth == 0 and (ch.isspace() or ch in "+-=<>,/·×≤≥≈~"):
            return f"({s})"
    return s


def _script(body, table, mark):
    if body and all(ch in table for ch in body):
        return "".join(table[ch] for ch in body)
    simple = r".|[A-Za-z0-9]+" if mark == "_" else r".|\d+(\.\d+)?"
    return mark + (body if re.fullmatch(simple, body) else f"({body})")


def _plain(toks):
    out, i = [], 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t in ("^", "_"):
            arg, i = _group(toks, i)
            body = _plain(arg).strip()
            if out:
                out[-1] = out[-1].rstrip()
            out.append(_script(body, _SUP if t == "^" else _SUB, t))
        elif t == "{" or t == "}":
            continue
        elif t.isspace():
            out.append(" ")
        elif t.startswith("\\"):
            name = t[1:]
            if name == "frac" or name in ("dfrac", "tfrac"):
                a, i = _group(toks, i)
                b, i = _group(toks, i)
                out.append(f"{_wrap(_plain(a))}/{_wrap(_plain(b))}")
            elif name == "sqrt":
                a, i = _group(toks, i)
                out.append("√" + _wrap(_plain(a)))
            elif name in _ACCENT:
                a, i = _group(toks, i)
                out.append(_plain(a) + _ACCENT[name])
            elif name in _FONTS:
                a, i = _group(toks, i)
                out.append(_plain(a))
            elif name in _SIZING:
                continue
            elif name in _GREEK:
                out.append(_GREEK[name])
            elif name in _SYMBOLS:
                out.append(_SYMBOLS[name])
            elif name in _NAMED:
                out.append(name + " ")
            else:
                out.append(name)
        else:
            out.append(t)
    return "".join(out)


def _math_plain(tex):
    out = re.sub(r" {2,}", " ", _plain(_tokens(tex))).replace(" )", ")").replace("( ", "(")
    out = re.sub(r"\b(%s) (?=[(\[{])" % "|".join(_NAMED), r"\1", out)  # ln(x), not ln (x)
    return out.replace("⌈ ", "⌈").replace(" ⌉", "⌉").replace("⌊ ", "⌊").replace(" ⌋", "⌋")


# ---------------------------------------------------------------------- width of LaTeX
_WIDE = set("+-=<>") | {r"\le", r"\ge", r"\leq", r"\geq", r"\sim", r"\approx", r"\pm", r"\to", r"\cdot"}
_ZERO = set(_SIZING) | {"limits", "substack"}


def tex_width(tex):
    """An estimate of the printed width of LaTeX math, in characters (``TEXT_WIDTH`` a line)."""
    return _width(_tokens(tex))


def _width(toks):
    w, i = 0.0, 0
    while i < len(toks):
        t = toks[i]
        i += 1
        if t in ("^", "_"):
            arg, i = _group(toks, i)
            w += 0.7 * _width(arg)
        elif t in ("{", "}") or t.isspace():
            continue
        elif t.startswith("\\"):
            name = t[1:]
            if name in ("frac", "dfrac"):
                a, i = _group(toks, i)
                b, i = _group(toks, i)
                w += max(_width(a), _width(b)) + 0.5
            elif name == "tfrac":
                a, i = _group(toks, i)
                b, i = _group(toks, i)
                w += 0.7 * max(_width(a), _width(b))
            elif name in ("sqrt",) or name in _ACCENT:
                a, i = _group(toks, i)
                w += _width(a) + (1 if name == "sqrt" else 0)
            elif name in _FONTS:
                a, i = _group(toks, i)
                w += _width(a) if name not in ("text", "textrm", "textit", "emph") else 0.8 * len("".join(a))
            elif name in _ZERO or name in (",", "!", ";"):
                continue
            elif name in ("quad",):
                w += 2
            elif name in ("qquad",):
                w += 4
            elif name in _NAMED:
                w += len(name)
            elif t in _WIDE:
                w += 2
            else:
                w += 1
        else:
            w += 2 if t in _WIDE else (0.5 if t in ",;.:" else 1)
    return w
