/* The claim skim of edi_precheck/model/skim.py, compiled: the same units, the same skip
 * decisions, one pass over a block in C instead of a regular expression plus Python steps
 * per claim (the benchmark measured those at about 7 us a claim, the skim's whole cost).
 *
 * skim.py holds the reference implementation and the documentation; this file follows it
 * step by step, except that it knows a loop sets the billing provider by its NM1*85 or
 * PRV*BI segment where skim.py searches the loop's text. Where this one cannot decide as
 * cheaply (a charge that is not plain digits, a code with non-ASCII letters), it hands the
 * claim over to be read in full, which is always safe: tests/test_skim.py checks that
 * reports do not change either way.
 *
 * scan(scan, first, carried_over, terminator, separator, component, codes, held, max_held)
 *   scan          the terminator, then the block's segments joined by the terminator
 *                 (an ASCII str); the segment after scan[0] is number `first`
 *   carried_over  whether scan starts with the unit left open by the block before
 *   codes         frozenset of covered procedure codes, upper case
 *   held          list of HL unit events held back from earlier blocks; replaced on success
 * returns (events, carry) as skim.py's units() yields and leaves them, or None when a
 * segment tag is malformed or not upper case (the block is then read segment by segment).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum tag {
    T_OTHER, T_ISA, T_GS, T_ST, T_SE, T_GE, T_IEA, T_HL, T_CLM, T_LX, T_SV1, T_SV2, T_NM1,
    T_PRV, T_COUNT
};
static const char *TAG_NAMES[T_COUNT] = {
    "", "ISA", "GS", "ST", "SE", "GE", "IEA", "HL", "CLM", "LX", "SV1", "SV2", "NM1", "PRV"};
static Py_ssize_t tag_lengths[T_COUNT];
static PyObject *tag_objects[T_COUNT];
static PyObject *skipped_tag;  /* "": the tag of a skipped-claims event */
static PyObject *empty_text;

/* The tag of a unit that is open: a real tag, or one of these. */
#define OPEN_NONE (-1)   /* nothing open: a claim closed itself, or the carried unit */
#define OPEN_CONTINUATION (-2)  /* segments that continue what the parser has open */

/* Charges as integers of millionths: plain digits with at most 6 decimals and 9 integer
 * digits; a sum that would overflow hands the claim over. */
#define MAX_INTEGER_DIGITS 9
#define MAX_DECIMALS 6

typedef struct {
    const Py_UCS1 *text;
    Py_ssize_t length;
    Py_UCS1 terminator, separator, component;
} Block;

static int is_alnum(Py_UCS1 c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A tag's character: X12 tags are upper case; a lower-case one ('clm') is read segment
 * by segment, where a damaged CLM is reported. */
static int is_tag_char(Py_UCS1 c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static enum tag classify(const Py_UCS1 *tag, Py_ssize_t length) {
    for (int kind = 1; kind < T_COUNT; kind++) {
        if (TAG_NAMES[kind][0] == tag[0] && tag_lengths[kind] == length
                && memcmp(TAG_NAMES[kind], tag, (size_t)length) == 0)
            return (enum tag)kind;
    }
    return T_OTHER;
}

/* Element `number` (1-based) of the segment [start, end): its span, or 0 if absent. */
static int element(const Block *block, Py_ssize_t start, Py_ssize_t end, int number,
                   Py_ssize_t *from, Py_ssize_t *to) {
    Py_ssize_t position = start;
    for (int seen = 0; seen < number; seen++) {
        while (position < end && block->text[position] != block->separator)
            position++;
        if (position >= end)
            return 0;
        position++;
    }
    Py_ssize_t stop = position;
    while (stop < end && block->text[stop] != block->separator)
        stop++;
    *from = position;
    *to = stop;
    return 1;
}

/* A charge as millionths; 0 when it is not plain digits (the claim is then read). */
static int plain_amount(const Block *block, Py_ssize_t from, Py_ssize_t to, int64_t *value) {
    int64_t integer = 0, fraction = 0;
    int integer_digits = 0, decimals = 0, seen_point = 0;
    for (Py_ssize_t i = from; i < to; i++) {
        Py_UCS1 c = block->text[i];
        if (c == '.' && !seen_point) {
            seen_point = 1;
        } else if (c >= '0' && c <= '9') {
            if (seen_point) {
                if (++decimals > MAX_DECIMALS)
                    return 0;
                fraction = fraction * 10 + (c - '0');
            } else {
                if (++integer_digits > MAX_INTEGER_DIGITS)
                    return 0;
                integer = integer * 10 + (c - '0');
            }
        } else {
            return 0;
        }
    }
    if (integer_digits == 0)
        return 0;
    for (int i = decimals; i < MAX_DECIMALS; i++)
        fraction *= 10;
    *value = integer * 1000000 + fraction;
    return 1;
}

/* Whether element `number` of the segment [start, end) is exactly `value`. */
static int element_is(const Block *block, Py_ssize_t start, Py_ssize_t end, int number,
                      const char *value) {
    Py_ssize_t from, to, length = (Py_ssize_t)strlen(value);
    return element(block, start, end, number, &from, &to) && to - from == length
           && memcmp(block->text + from, value, (size_t)length) == 0;
}

/* Whether the procedure composite [from, to) bills a covered code: -1 on error. A code
 * with other than ASCII letters and digits counts as covered: the claim is then read. */
static int bills_covered_code(const Block *block, Py_ssize_t from, Py_ssize_t to,
                              PyObject *codes) {
    Py_ssize_t start = from;
    while (start < to && block->text[start] != block->component)
        start++;
    if (start >= to)
        return 0;  /* no second component: no code */
    start++;
    Py_ssize_t stop = start;
    while (stop < to && block->text[stop] != block->component)
        stop++;
    char code[64];
    if (stop - start >= (Py_ssize_t)sizeof(code))
        return 1;
    for (Py_ssize_t i = start; i < stop; i++) {
        Py_UCS1 c = block->text[i];
        if (!is_alnum(c))
            return 1;
        code[i - start] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    PyObject *text = PyUnicode_FromStringAndSize(code, stop - start);
    if (text == NULL)
        return -1;
    int found = PySet_Contains(codes, text);
    Py_DECREF(text);
    return found;
}

/* Append (tag, index, scan[start + 1:end], end_index) to `list`; -1 on error. */
static int append_event(PyObject *list, PyObject *scan, PyObject *tag, Py_ssize_t index,
                        Py_ssize_t start, Py_ssize_t end, Py_ssize_t end_index) {
    PyObject *text = PyUnicode_Substring(scan, start + 1, end);
    if (text == NULL)
        return -1;
    PyObject *event = Py_BuildValue("(OnNn)", tag, index, text, end_index);
    if (event == NULL)
        return -1;
    int failed = PyList_Append(list, event);
    Py_DECREF(event);
    return failed;
}

/* Hand over what waits before a unit: skipped claims, then the held loops. */
static int flush(PyObject *events, PyObject *held, long *skipped_claims,
                 long *skipped_lines) {
    if (*skipped_claims) {
        PyObject *event = Py_BuildValue("(OlOl)", skipped_tag, *skipped_claims, empty_text,
                                        *skipped_lines);
        if (event == NULL || PyList_Append(events, event) < 0) {
            Py_XDECREF(event);
            return -1;
        }
        Py_DECREF(event);
        *skipped_claims = *skipped_lines = 0;
    }
    Py_ssize_t count = PyList_GET_SIZE(held);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyList_Append(events, PyList_GET_ITEM(held, i)) < 0)
            return -1;
    }
    return PyList_SetSlice(held, 0, count, NULL);
}

static PyObject *scan(PyObject *module, PyObject *args) {
    PyObject *scan_text, *codes, *held_in;
    Py_ssize_t first, max_held;
    int carried_over;
    const char *terminator, *separator, *component;
    Py_ssize_t terminator_length, separator_length, component_length;
    if (!PyArg_ParseTuple(args, "UnpsssO!O!n", &scan_text, &first, &carried_over,
                          &terminator, &separator, &component, &PyFrozenSet_Type, &codes,
                          &PyList_Type, &held_in, &max_held))
        return NULL;
    (void)module;
    if (PyUnicode_KIND(scan_text) != PyUnicode_1BYTE_KIND || !PyUnicode_IS_ASCII(scan_text))
        Py_RETURN_NONE;
    terminator_length = (Py_ssize_t)strlen(terminator);
    separator_length = (Py_ssize_t)strlen(separator);
    component_length = (Py_ssize_t)strlen(component);
    if (terminator_length != 1 || separator_length != 1 || component_length != 1)
        Py_RETURN_NONE;
    Block block = {PyUnicode_1BYTE_DATA(scan_text), PyUnicode_GET_LENGTH(scan_text),
                   (Py_UCS1)terminator[0], (Py_UCS1)separator[0], (Py_UCS1)component[0]};
    if (block.length == 0 || block.text[0] != block.terminator)
        Py_RETURN_NONE;

    PyObject *events = PyList_New(0);
    PyObject *held = PyList_GetSlice(held_in, 0, PyList_GET_SIZE(held_in));
    PyObject *carry = NULL;
    if (events == NULL || held == NULL)
        goto error;

    int unit = carried_over ? OPEN_NONE : OPEN_CONTINUATION;
    Py_ssize_t unit_start = 0, unit_index = first;
    int level20 = 0, level22 = 0;  /* the open HL's level */
    int sets_billing = 0;  /* the open HL unit has an NM1*85 or PRV*BI: read it at once */
    int covered = 0, clean = 0, awaiting = 0;
    long lines = 0, skipped_claims = 0, skipped_lines = 0;
    int64_t total = 0, line_sum = 0;
    Py_ssize_t position = 0, index = first;  /* the terminator before segment `index` */
    while (position < block.length) {
        Py_ssize_t start = position + 1, end = start;
        while (end < block.length && block.text[end] != block.terminator)
            end++;
        Py_ssize_t tag_end = start;
        while (tag_end < end && block.text[tag_end] != block.separator)
            tag_end++;
        if (tag_end - start < 2 || tag_end - start > 3)
            goto malformed;
        for (Py_ssize_t i = start; i < tag_end; i++) {
            if (!is_tag_char(block.text[i]))
                goto malformed;
        }
        enum tag tag = classify(block.text + start, tag_end - start);
        Py_ssize_t from, to;
        if (tag == T_NM1 || tag == T_PRV) {
            if (unit == T_HL && !sets_billing)
                sets_billing = element_is(&block, start, end, 1, tag == T_NM1 ? "85" : "BI");
        } else if (tag == T_LX) {
            if (unit == T_CLM) {
                clean = clean && !awaiting;
                lines++;
                awaiting = 1;
            }
        } else if (tag == T_SV1 || tag == T_SV2) {
            if (unit == T_CLM && awaiting) {
                awaiting = 0;
                int procedure = tag == T_SV1 ? 1 : 2;
                if (element(&block, start, end, procedure, &from, &to)) {
                    int found = bills_covered_code(&block, from, to, codes);
                    if (found < 0)
                        goto error;
                    covered = covered || found;
                }
                int64_t amount;
                if (element(&block, start, end, procedure + 1, &from, &to)
                        && plain_amount(&block, from, to, &amount)
                        && amount <= INT64_MAX - line_sum) {  /* both are >= 0 */
                    line_sum += amount;
                } else {
                    clean = 0;
                }
            }
        } else if (tag != T_OTHER) {
            /* A unit starts at `position`: the one before it is complete. */
            int hand_over = 1;
            if (unit == T_CLM) {
                if (!covered && (lines == 0 || (clean && !awaiting && line_sum == total))) {
                    skipped_claims++;
                    skipped_lines += lines;
                    hand_over = 0;
                }
            } else if (unit == T_HL) {
                if (!level20 && !sets_billing) {
                    if (level22 && PyList_SetSlice(held, 0, PyList_GET_SIZE(held), NULL) < 0)
                        goto error;
                    if (append_event(held, scan_text, tag_objects[T_HL], unit_index,
                                     unit_start, position, index) < 0)
                        goto error;
                    hand_over = 0;
                    if (PyList_GET_SIZE(held) > max_held
                            && flush(events, held, &skipped_claims, &skipped_lines) < 0)
                        goto error;
                } else if (level20
                           && PyList_SetSlice(held, 0, PyList_GET_SIZE(held), NULL) < 0) {
                    goto error;
                }
            } else if (unit == OPEN_NONE) {
                hand_over = 0;
            }
            if (hand_over) {
                if (flush(events, held, &skipped_claims, &skipped_lines) < 0)
                    goto error;
                PyObject *name = unit == OPEN_CONTINUATION ? Py_None : tag_objects[unit];
                if (append_event(events, scan_text, name, unit_index, unit_start, position,
                                 index) < 0)
                    goto error;
            }
            unit = tag;
            unit_start = position;
            unit_index = index;
            if (tag == T_HL) {
                level20 = level22 = sets_billing = 0;
                if (element(&block, start, end, 3, &from, &to) && to - from == 2) {
                    level20 = memcmp(block.text + from, "20", 2) == 0;
                    level22 = memcmp(block.text + from, "22", 2) == 0;
                }
            } else if (tag == T_CLM) {
                clean = element(&block, start, end, 2, &from, &to)
                        && plain_amount(&block, from, to, &total);
                covered = awaiting = 0;
                lines = 0;
                line_sum = 0;
            }
        }
        position = end;
        index++;
    }
    if (skipped_claims) {
        PyObject *event = Py_BuildValue("(OlOl)", skipped_tag, skipped_claims, empty_text,
                                        skipped_lines);
        if (event == NULL || PyList_Append(events, event) < 0) {
            Py_XDECREF(event);
            goto error;
        }
        Py_DECREF(event);
    }
    if (unit == OPEN_CONTINUATION) {  /* no unit starts in the block */
        if (append_event(events, scan_text, Py_None, first, 0, block.length, 0) < 0)
            goto error;
        Py_INCREF(Py_None);
        carry = Py_None;
    } else if (unit == OPEN_NONE) {
        Py_INCREF(Py_None);
        carry = Py_None;
    } else {
        PyObject *text = PyUnicode_Substring(scan_text, unit_start + 1, block.length);
        if (text == NULL)
            goto error;
        carry = Py_BuildValue("(OnN)", tag_objects[unit], unit_index, text);
        if (carry == NULL)
            goto error;
    }
    if (PyList_SetSlice(held_in, 0, PyList_GET_SIZE(held_in), held) < 0)
        goto error;
    Py_DECREF(held);
    return Py_BuildValue("(NN)", events, carry);

malformed:
    Py_XDECREF(events);
    Py_XDECREF(held);
    Py_RETURN_NONE;
error:
    Py_XDECREF(events);
    Py_XDECREF(held);
    Py_XDECREF(carry);
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, "Cut one block into unit events; skip the claims no "
     "check can find anything in (see edi_precheck/model/skim.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_edi_precheck_skim",
    "The claim skim of edi_precheck.model.skim, compiled.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__edi_precheck_skim(void) {
    for (int kind = 0; kind < T_COUNT; kind++) {
        tag_lengths[kind] = (Py_ssize_t)strlen(TAG_NAMES[kind]);
        tag_objects[kind] = PyUnicode_InternFromString(TAG_NAMES[kind]);
        if (tag_objects[kind] == NULL)
            return NULL;
    }
    skipped_tag = tag_objects[T_OTHER];  /* "" */
    empty_text = tag_objects[T_OTHER];
    return PyModule_Create(&module_definition);
}
