"""Mutations of 837 transaction sets, for comparing the native engine with pyx12.

Each mutation breaks one thing the way a claim file goes wrong: an element emptied,
shortened, lengthened or given a bad code, date, time or number; a segment dropped,
doubled, moved or unknown; extra elements or components; a loop out of order; HL or LX
numbering off; stray separators, spaces and characters. Texts are one interchange (ISA,
GS, one ST...SE, GE, IEA) with the separators at ISA04, ISA16 and ISA's terminator.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

Segments = list[list[str]]

_VALUES = [
    "",
    "ZZ",
    "X",
    "99",
    "20241301",
    "20240230",
    "2024-01-01",
    "20240101-20240102-20240103",
    "1A",
    "-1.5",
    "1.",
    "2561",
    "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
    "AB CD ",
    "caf\u00e9",
    "A\tB",
    "00",
    "D8",
    "RD8",
    "TM",
    "HC",
    "472",
    "Y",
    "N",
    "UN",
    "1",
    "0",
]


def split(text: str) -> tuple[Segments, str, str, str]:
    separator, component, terminator = text[3], text[104], text[105]
    segments = [piece.split(separator) for piece in text.split(terminator) if piece]
    return segments, separator, component, terminator


def join(segments: Segments, separator: str, terminator: str) -> str:
    return "".join(separator.join(fields) + terminator for fields in segments)


def _body(segments: Segments) -> range:
    """Indices of the segments between ST and SE."""
    st = next(i for i, fields in enumerate(segments) if fields[0] == "ST")
    se = max(i for i, fields in enumerate(segments) if fields[0] == "SE")
    return range(st + 1, se)


def _set_element(rng: random.Random, segments: Segments, component: str) -> None:
    index = rng.choice(_body(segments))
    fields = segments[index]
    if len(fields) < 2:
        return
    position = rng.randrange(1, len(fields))
    value = rng.choice(_VALUES)
    if rng.random() < 0.15 and component in fields[position]:
        parts = fields[position].split(component)
        parts[rng.randrange(len(parts))] = value
        value = component.join(parts)
    fields[position] = value


def _drop(rng: random.Random, segments: Segments, component: str) -> None:
    del segments[rng.choice(_body(segments))]


def _double(rng: random.Random, segments: Segments, component: str) -> None:
    index = rng.choice(_body(segments))
    segments.insert(index, list(segments[index]))


def _move(rng: random.Random, segments: Segments, component: str) -> None:
    body = _body(segments)
    moved = segments.pop(rng.choice(body))
    segments.insert(rng.choice(_body(segments)), moved)


def _swap(rng: random.Random, segments: Segments, component: str) -> None:
    body = _body(segments)
    if len(body) < 2:
        return
    index = rng.choice(body[:-1])
    segments[index], segments[index + 1] = segments[index + 1], segments[index]


def _loop_out_of_order(rng: random.Random, segments: Segments, component: str) -> None:
    """Move a run of segments starting at an HL, CLM, LX or NM1 elsewhere."""
    body = list(_body(segments))
    starts = [i for i in body if segments[i][0] in ("HL", "CLM", "LX", "NM1", "SBR")]
    if not starts:
        return
    start = rng.choice(starts)
    end = start + 1
    while end in body and segments[end][0] not in ("HL", "CLM", "LX", "NM1", "SBR"):
        end += 1
    run = segments[start:end]
    del segments[start:end]
    target = rng.choice(list(_body(segments)) or [start])
    segments[target:target] = run


def _repeat_loop(rng: random.Random, segments: Segments, component: str) -> None:
    body = list(_body(segments))
    starts = [i for i in body if segments[i][0] in ("LX", "CLM", "NM1")]
    if not starts:
        return
    start = rng.choice(starts)
    end = start + 1
    while end in body and segments[end][0] != segments[start][0]:
        end += 1
    copies = [list(f) for f in segments[start:end]] * rng.choice((1, 3, 60))
    segments[end:end] = [list(f) for f in copies]


def _extra_elements(rng: random.Random, segments: Segments, component: str) -> None:
    fields = segments[rng.choice(_body(segments))]
    fields += rng.choice((["X"], ["", ""], [""], ["A", "B", "C", "D", "E", "F", "G"]))


def _extra_components(rng: random.Random, segments: Segments, component: str) -> None:
    fields = segments[rng.choice(_body(segments))]
    if len(fields) < 2:
        return
    position = rng.randrange(1, len(fields))
    fields[position] += component + rng.choice(("X", "", "1" + component + "2", "A:B:C:D:E"))


def _unknown_segment(rng: random.Random, segments: Segments, component: str) -> None:
    index = rng.choice(_body(segments))
    segments.insert(
        index,
        [
            rng.choice(("ZZZ", "NTE", "K3", "zz", "X", "1AB", "REF", "DTP")),
            *rng.choice(([], ["X"], ["472", "D8", "20240101"], ["EA", "123"])),
        ],
    )


def _renumber(rng: random.Random, segments: Segments, component: str) -> None:
    body = [i for i in _body(segments) if segments[i][0] in ("HL", "LX")]
    if not body:
        return
    fields = segments[rng.choice(body)]
    position = rng.choice((1, 2)) if fields[0] == "HL" and len(fields) > 2 else 1
    fields[position] = rng.choice(("", "0", "2", "7", "99", "A"))


def _envelope_count(rng: random.Random, segments: Segments, component: str) -> None:
    se = max(i for i, fields in enumerate(segments) if fields[0] == "SE")
    segments[se][1] = str(int(segments[se][1]) + rng.choice((-1, 1, 5)))


def _stray(rng: random.Random, segments: Segments, component: str) -> None:
    fields = segments[rng.choice(_body(segments))]
    choice = rng.randrange(3)
    if choice == 0:
        fields[0] = " " + fields[0]
    elif choice == 1:
        fields.append("")
    else:
        fields[0] = fields[0].lower()


MUTATIONS: list[Callable[[random.Random, Segments, str], None]] = [
    _set_element,
    _set_element,
    _set_element,
    _drop,
    _double,
    _move,
    _swap,
    _loop_out_of_order,
    _repeat_loop,
    _extra_elements,
    _extra_components,
    _unknown_segment,
    _renumber,
    _envelope_count,
    _stray,
]


def mutations(texts: list[str], count: int, seed: int) -> Iterator[tuple[str, str]]:
    """`count` mutated texts, each as (what was done, text); the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        text = rng.choice(texts)
        segments, separator, component, terminator = split(text)
        done = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            mutation = rng.choice(MUTATIONS)
            mutation(rng, segments, component)
            done.append(mutation.__name__.lstrip("_"))
        yield "+".join(done), join(segments, separator, terminator)
