#!/usr/bin/env python3
"""Writes the NULL sweep's calls: for every name in core/weft.exports, from its prototype in
the public headers, a call with NULL for each pointer parameter and 0 for each scalar; the
same with -1 for each scalar; and, for a function taking one of the core's objects and an
out pointer, a NULL object with real (zeroed) memory behind the out pointers. It fails when
it cannot write a call for an exported name (no prototype, or a parameter type it does not
know), so a new function cannot stay out of the sweep.

What the sweep checks besides "no crash" (tests/null_sweep.c runs each call in a child), for
functions that take a pointer: a signed integer result is WEFT_EINVAL (weft.h: "a NULL
handle or a NULL required pointer is WEFT_EINVAL") except for the queries listed below (0);
a pointer result is NULL, an unsigned one 0, a double 0.0.

usage: null_sweep_gen.py EXPORTS INCLUDE_DIR OUTPUT.c
"""
import os
import re
import sys

# Functions returning a signed integer that answer a question rather than report success:
# 0 for NULL. Boolean queries (weft.h: "return 0 or 1, and 0 for NULL"), and the address
# list's fields, documented as 0 out of range. Every other signed result is WEFT_EINVAL.
QUERIES = {
    "weft_addrinfo_family", "weft_addrinfo_protocol", "weft_addrinfo_socktype",
    "weft_barrier_broken", "weft_cfuture_cancelled", "weft_cfuture_done",
    "weft_condition_locked", "weft_event_is_set", "weft_future_cancelled", "weft_future_done",
    "weft_handle_cancelled", "weft_lock_locked", "weft_loop_get_debug", "weft_loop_is_closed",
    "weft_loop_is_running", "weft_queue_empty", "weft_queue_full", "weft_queue_is_shutdown",
    "weft_semaphore_locked", "weft_server_is_serving", "weft_stream_at_eof",
    "weft_stream_can_write_eof", "weft_stream_is_closing", "weft_timeout_expired",
    "weft_tls_conn_handshake_done", "weft_tls_context_get_check_hostname",
    "weft_transport_can_write_eof", "weft_transport_is_closing", "weft_transport_is_reading",
}

UNSIGNED = {
    "unsigned", "unsigned int", "unsigned long", "unsigned long long", "unsigned short",
    "unsigned char", "size_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "uintptr_t",
    "_Bool", "bool",
}
SCALARS = {
    "int", "unsigned", "unsigned int", "signed", "signed int", "long", "unsigned long",
    "long long", "unsigned long long", "short", "unsigned short", "char", "signed char",
    "unsigned char", "size_t", "ssize_t", "int8_t", "uint8_t", "int16_t", "uint16_t",
    "int32_t", "uint32_t", "int64_t", "uint64_t", "intptr_t", "uintptr_t", "double", "float",
    "_Bool", "bool", "socklen_t", "pid_t", "uv_os_sock_t", "uv_os_fd_t", "uv_file",
}
FLOATS = {"double", "float"}
QUALIFIERS = {"const", "volatile", "restrict", "struct", "enum", "union"}


def fail(msg):
    sys.stderr.write("null_sweep_gen: %s\n" % msg)
    sys.exit(1)


def strip_source(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"\\\n", " ", text)
    text = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    # The C++ guards' braces lose their #ifdef lines above; drop both halves.
    text = text.replace('extern "C" {', " ")
    text = re.sub(r"\n\s*\}\s*\n", "\n", text)
    return re.sub(r"\s+", " ", text)


def statements(text):
    """Top-level statements ending in ';', with braces and parentheses kept whole."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == ";" and depth == 0:
            yield text[start:i].strip()
            start = i + 1


def split_params(params):
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


class Types:
    def __init__(self):
        self.aggregates = set()  # passed by value as (T){0}
        self.scalars = set(SCALARS)
        self.pointers = set()  # function-pointer typedefs
        self.opaque = set()  # declared only as incomplete structs (pointer use only)

    def learn(self, stmt):
        if not stmt.startswith("typedef "):
            return
        body = stmt[len("typedef "):]
        m = re.match(r".*\(\s*\*\s*(\w+)\s*\)\s*\(.*\)$", body)
        if m:
            self.pointers.add(m.group(1))
            return
        name = re.findall(r"(\w+)\s*$", body)
        if not name:
            return
        name = name[0]
        if re.match(r"(struct|union)\b[^{]*\{", body):
            self.aggregates.add(name)
        elif re.match(r"enum\b", body):
            self.scalars.add(name)
        elif re.match(r"(struct|union)\s+\w+\s+\w+$", body):
            self.opaque.add(name)
        else:
            base = " ".join(w for w in body[: -len(name)].split() if w not in QUALIFIERS)
            if "*" in base:
                self.pointers.add(name)
            elif base in self.scalars:
                self.scalars.add(name)
            elif base in self.aggregates:
                self.aggregates.add(name)


def pointer_kind(param, types):
    """'handle' (one of the core's objects), 'out' (where a result is stored) or 'pointer'."""
    if "(" in param or "[" in param:
        return "pointer"
    words = param.replace("*", " * ").split()
    stars = words.count("*")
    base = [w for w in words[: words.index("*")] if w not in QUALIFIERS]
    base = " ".join(base)
    if stars == 1 and base in types.opaque:
        return "handle"
    if stars >= 2 and "const" not in words[-3:-1]:
        return "out"
    if stars == 1 and "const" not in words and (base in types.scalars or base in types.aggregates
                                                 or base in types.pointers):
        return "out"
    return "pointer"


def param_kind(param, types, where):
    """('handle'|'out'|'pointer'|'scalar'|'float'|'aggregate', C type) for one parameter."""
    if "*" in param or "[" in param or "(" in param:
        return pointer_kind(param, types), None
    words = [w for w in param.split() if w not in ("const", "volatile", "register")]
    # Drop the parameter's name: the last word, when what is left still names a type.
    candidates = [words]
    if len(words) > 1:
        candidates.insert(0, words[:-1])
    for ws in candidates:
        t = " ".join(ws)
        base = " ".join(w for w in ws if w not in QUALIFIERS)
        if base in types.pointers:
            return "pointer", None
        if base in types.aggregates or (ws[0] in ("struct", "union") and len(ws) == 2):
            return "aggregate", t
        if base in FLOATS:
            return "float", t
        if base in types.scalars or ws[0] == "enum":
            return "scalar", t
    fail("%s: cannot make an argument of type '%s'" % (where, param))


def return_kind(ret, types, where):
    ret = ret.strip()
    words = [w for w in ret.split() if w not in ("const", "volatile", "static", "inline")]
    base = " ".join(w for w in words if w not in QUALIFIERS)
    if base == "void":
        return "void"
    if "*" in ret or base in types.pointers:
        return "pointer"
    if base in FLOATS:
        return "float"
    if base in UNSIGNED:
        return "unsigned"
    if base in types.scalars or words[0] == "enum":
        return "signed"
    if base in types.aggregates or words[0] in ("struct", "union"):
        return "aggregate"
    fail("%s: unknown return type '%s'" % (where, ret))


def main():
    if len(sys.argv) != 4:
        fail("usage: null_sweep_gen.py EXPORTS INCLUDE_DIR OUTPUT.c")
    exports_path, include_dir, out_path = sys.argv[1:]
    with open(exports_path) as f:
        exports = [line.strip() for line in f if line.strip().startswith("weft_")]

    headers = [os.path.join(include_dir, "weft.h")]
    sub = os.path.join(include_dir, "weft")
    headers += sorted(os.path.join(sub, n) for n in os.listdir(sub) if n.endswith(".h"))
    types, protos = Types(), {}
    # Typedefs first (a header may use a type another one defines), then the prototypes.
    stmts = []
    for h in headers:
        with open(h) as f:
            stmts += list(statements(strip_source(f.read())))
    for s in stmts:
        types.learn(s)
    for s in stmts:
        m = re.match(r"^WEFT_API\s+(.*?)\b(weft_\w+)\s*\((.*)\)\s*$", s)
        if m:
            protos[m.group(2)] = (m.group(1), m.group(3))

    missing = [n for n in exports if n not in protos]
    if missing:
        fail("exported without a prototype in the public headers: " + ", ".join(missing))

    out = ["/* Generated by tests/null_sweep_gen.py from core/weft.exports and the public",
           " * headers: do not edit. */", '#include "null_sweep.h"', ""]
    cases = []
    for name in exports:
        ret, params = protos[name]
        rkind = return_kind(ret, types, name)
        plist = [] if params.strip() in ("", "void") else split_params(params)
        kinds = []
        for p in plist:
            if p == "...":
                continue
            kinds.append(param_kind(p, types, name))
        has_ptr = any(k in ("handle", "out", "pointer") for k, _ in kinds)
        has_scalar = any(k in ("scalar", "float") for k, _ in kinds)
        # Every pointer NULL, scalars 0; then scalars -1; then a NULL handle with somewhere to
        # store the result, which a check of the out pointer alone would let through.
        variants = [("0", 0, False)]
        if has_scalar:
            variants.append(("1", -1, False))
        if any(k == "handle" for k, _ in kinds) and any(k == "out" for k, _ in kinds):
            variants.append(("outs", 0, True))
        for suffix, variant, outs in variants:
            args = []
            for k, t in kinds:
                if k == "out" and outs:
                    args.append("sweep_scratch()")
                elif k in ("handle", "out", "pointer"):
                    args.append("NULL")
                elif k == "aggregate":
                    args.append("(%s){0}" % t)
                elif k == "float":
                    args.append("%d.0" % variant)
                else:
                    args.append("(%s)%d" % (t, variant))
            call = "%s(%s)" % (name, ", ".join(args))
            fn = "sweep_%s_%s" % (name, suffix)
            out.append("static int %s(void) {" % fn)
            if rkind == "void":
                out.append("  %s;" % call)
                out.append("  return 0;")
            elif not has_ptr or rkind == "aggregate":
                out.append("  (void)%s;" % call)
                out.append("  return 0;")
            elif rkind == "signed":
                expect = "0" if name in QUERIES else "WEFT_EINVAL"
                out.append("  return sweep_expect_int(%s, %s);" % (call, expect))
            elif rkind == "pointer":
                out.append("  return sweep_expect_null((const void *)%s);" % call)
            elif rkind == "float":
                out.append("  return sweep_expect_zero_double(%s);" % call)
            else:
                out.append("  return sweep_expect_zero((long long)%s);" % call)
            out.append("}")
            cases.append('  {"%s", "%s", %s},' % (name, call.replace('"', '\\"'), fn))
    out.append("")
    out.append("const sweep_case_t sweep_cases[] = {")
    out += cases
    out.append("};")
    out.append("const size_t sweep_case_count = sizeof sweep_cases / sizeof sweep_cases[0];")
    out.append("")
    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
