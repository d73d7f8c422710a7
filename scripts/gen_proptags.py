#!/usr/bin/python3
"""Generate src/mapi/names_proptags.c: property tag and property ID names.

Usage: /usr/bin/python3 scripts/gen_proptags.py SRCDIR > src/mapi/names_proptags.c

SRCDIR holds local copies of public, machine-readable lists of the facts of
MS-OXPROPS (canonical PidTag name, property ID, property type, alternate
PR_ names). Every file is optional; the more there are, the more names:

  PropertyId.swift          hughbe/SwiftMAPI Sources/MAPI/MS-OXPROPS/PropertyId.swift
                            (per property, the MS-OXPROPS section quoted:
                            canonical name, property ID, data type,
                            alternate names)
  PidTagPropertyEnum.cs     OfficeDev/Office-Inspectors-for-Fiddler
                            MAPIInspector/Source/Parsers/PidTagPropertyEnum.cs
                            (Microsoft: canonical name -> property ID)
  msdocs/*.md               MicrosoftDocs/office-developer-client-docs
                            docs/outlook/mapi/pidtag*-canonical-property.md
                            (Microsoft: canonical name, identifier, PT_
                            types, associated PR_ names)
  mapi-properties           openchange/openchange libmapi/conf/mapi-properties
                            (full tags with PR_ names, incl. PR_EMS_AB_*)

Precedence for a name: MS-OXPROPS text, then Microsoft's lists, then
OpenChange. Only facts (numbers and names) are taken from these files.

Naming of PR_ names per tag follows OpenChange (and Wireshark): for a string
property, type 0x001E carries the base name (PR_SUBJECT) and type 0x001F the
base name + "_UNICODE" (PR_SUBJECT_UNICODE); multi-valued strings likewise.
Both string widths of a string property are listed, since clients use both.
Object-typed (0x000D) address-book tags keep OpenChange's "_O" names.
"""

import os
import re
import sys

PT_CODES = {
    'PT_UNSPECIFIED': [0x0000], 'PT_NULL': [0x0001], 'PT_I2': [0x0002],
    'PT_SHORT': [0x0002], 'PT_LONG': [0x0003], 'PT_I4': [0x0003],
    'PT_FLOAT': [0x0004], 'PT_R4': [0x0004], 'PT_DOUBLE': [0x0005],
    'PT_R8': [0x0005], 'PT_CURRENCY': [0x0006], 'PT_APPTIME': [0x0007],
    'PT_ERROR': [0x000A], 'PT_BOOLEAN': [0x000B], 'BOOLEAN': [0x000B],
    'PT_OBJECT': [0x000D], 'PT_I8': [0x0014], 'PT_LONGLONG': [0x0014],
    'PT_STRING8': [0x001E], 'PT_UNICODE': [0x001F],
    'PT_TSTRING': [0x001E, 0x001F], 'PT_SYSTIME': [0x0040],
    'PT_CLSID': [0x0048], 'PT_GUID': [0x0048], 'PT_SVREID': [0x00FB],
    'PT_SRESTRICTION': [0x00FD], 'PT_ACTIONS': [0x00FE],
    'PT_BINARY': [0x0102],
    'PT_MV_I2': [0x1002], 'PT_MV_SHORT': [0x1002], 'PT_MV_LONG': [0x1003],
    'PT_MV_I4': [0x1003], 'PT_MV_FLOAT': [0x1004], 'PT_MV_R4': [0x1004],
    'PT_MV_DOUBLE': [0x1005], 'PT_MV_R8': [0x1005],
    'PT_MV_CURRENCY': [0x1006], 'PT_MV_APPTIME': [0x1007],
    'PT_MV_I8': [0x1014], 'PT_MV_LONGLONG': [0x1014],
    'PT_MV_STRING8': [0x101E], 'PT_MV_UNICODE': [0x101F],
    'PT_MV_UNICODE8': [0x101F], 'PT_MV_TSTRING': [0x101E, 0x101F],
    'PT_MV_SYSTIME': [0x1040], 'PT_MV_CLSID': [0x1048],
    'PT_MV_BINARY': [0x1102],
}

# Property types of MS-OXCDATA 2.11.1 (anything else in a source is a typo).
VALID_TYPES = {0x0000, 0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006,
               0x0007, 0x000A, 0x000B, 0x000D, 0x0014, 0x001E, 0x001F,
               0x0040, 0x0048, 0x00FB, 0x00FD, 0x00FE, 0x0102, 0x1002,
               0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1014, 0x101E,
               0x101F, 0x1040, 0x1048, 0x1102}

# MS-OXPROPS facts missing from the lists above (the Swift file skips these
# sections; the Microsoft list has the name and ID but no type).
SUPPLEMENT = [
    # name, property ID, types, PR_ base name
    ('PidTagScriptData', 0x0004, [0x0102], 'PR_EMS_SCRIPT_BLOB'),
]

STRING_PAIRS = {0x001E: 0x001F, 0x001F: 0x001E, 0x101E: 0x101F, 0x101F: 0x101E}

NAME_RE = re.compile(r'^PidTag[A-Za-z0-9_]+$')
PR_RE = re.compile(r'\bPR_[A-Z0-9_]+\b')


def warn(msg):
    print('gen_proptags: ' + msg, file=sys.stderr)


class Prop:
    """One canonical property: name, ID, types, PR_ base name."""

    def __init__(self, name, pid, source):
        self.name = name
        self.pid = pid
        self.types = []
        self.pr = None
        self.source = source

    def add_types(self, types):
        for t in types:
            if t not in VALID_TYPES:
                warn('%s: ignoring type 0x%04X' % (self.name, t))
            elif t not in self.types:
                self.types.append(t)


def pr_base(names):
    """The PR_ base name from a list of alternate names: PR_X rather than
    PR_X_A / PR_X_W (those are the ANSI/wide variants of one property)."""
    prs = [n for n in names if n.startswith('PR_')]
    for n in prs:
        if not (n.endswith('_A') or n.endswith('_W')):
            return n
    for n in prs:
        return n[:-2]
    return None


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------

def read_oxprops_swift(path):
    """MS-OXPROPS sections quoted in comments: one sub-block per property,
    starting at '/// [MS-OXPROPS] 2.N PidTagX'."""
    props = []
    cur = None
    field = None
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line.startswith('///'):
                cur = field = None
                continue
            text = line.lstrip('/').strip()
            m = re.match(r'\[MS-OXPROPS\] 2\.\d+ (PidTag\w+)$', text)
            if m:
                cur = {'name': m.group(1), 'alt': ''}
                props.append(cur)
                field = None
                continue
            if cur is None:
                continue
            if re.match(r'^PidTag\w+$', text) or 'Not documented in specification' in text:
                cur = None  # a non-spec block follows in the same comment
                continue
            m = re.match(r'^([A-Za-z ]+):\s*(.*)$', text)
            if m and m.group(1) in ('Canonical name', 'Description', 'Property ID',
                                    'Data type', 'Area', 'Defining reference',
                                    'Consuming references', 'Alternate names',
                                    'Consuming reference', 'References'):
                field = m.group(1)
                val = m.group(2)
                if field == 'Canonical name':
                    cur['canonical'] = val.strip()
                elif field == 'Property ID':
                    cur['id'] = val.strip()
                elif field == 'Data type':
                    cur['type'] = val
                elif field == 'Alternate names':
                    cur['alt'] = val
                continue
            if field == 'Alternate names':
                cur['alt'] += ' ' + text
    out = []
    for p in props:
        name = p.get('canonical', p['name'])
        if name != p['name'] or 'id' not in p or not NAME_RE.match(name):
            warn('swift: skipping incomplete section %s' % p['name'])
            continue
        prop = Prop(name, int(p['id'], 16), 'MS-OXPROPS')
        prop.add_types(int(x, 16) for x in re.findall(r'0x([0-9A-Fa-f]{4})', p.get('type', '')))
        prop.pr = pr_base(PR_RE.findall(p['alt']))
        out.append(prop)
    return out


def read_inspector_enum(path):
    out = []
    with open(path, encoding='utf-8-sig') as f:
        for m in re.finditer(r'\b(PidTag\w+)\s*=\s*0x([0-9A-Fa-f]{1,4})\b', f.read()):
            out.append(Prop(m.group(1), int(m.group(2), 16), 'MAPIInspector'))
    return out


def read_msdocs(dirpath):
    out = []
    for fn in sorted(os.listdir(dirpath)):
        if not fn.endswith('-canonical-property.md'):
            continue
        with open(os.path.join(dirpath, fn), encoding='utf-8-sig') as f:
            text = f.read()
        m = re.search(r'^# (PidTag\w+) Canonical Property', text, re.M)
        if not m:
            continue
        rows = {}
        for r in re.finditer(r'^\|([A-Za-z ]+):\s*(?:<br/>)?\s*\|(.*)\|\s*$', text, re.M):
            rows[r.group(1).strip()] = r.group(2).replace('<br/>', ' ').strip()
        ident = re.search(r'0x([0-9A-Fa-f]{4})', rows.get('Identifier', ''))
        if not ident:
            continue
        prop = Prop(m.group(1), int(ident.group(1), 16), 'msdocs')
        types = []
        for t in re.split(r'[,\s]+', rows.get('Data type', '')):
            t = t.strip().upper()
            if t in PT_CODES:
                types += PT_CODES[t]
            elif t:
                warn('%s: unknown data type %r' % (fn, t))
        prop.add_types(types)
        prop.pr = pr_base(PR_RE.findall(rows.get('Associated properties', '')))
        out.append(prop)
    return out


def read_openchange(path):
    """(tag, PR name, PidTag name or None) triples."""
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].split()
            if len(line) < 2 or not line[0].lower().startswith('0x'):
                continue
            tag = int(line[0], 16)
            pid = line[2] if len(line) > 2 and NAME_RE.match(line[2]) else None
            out.append((tag, line[1], pid))
    return out


# ---------------------------------------------------------------------------
# Merge
# ---------------------------------------------------------------------------

def pr_for_type(base, ptype):
    if base is None:
        return None
    if ptype in (0x001F, 0x101F):
        return base + '_UNICODE'
    return base


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: gen_proptags.py SRCDIR > src/mapi/names_proptags.c')
    src = sys.argv[1]
    layers = []
    used = []
    p = os.path.join(src, 'PropertyId.swift')
    if os.path.exists(p):
        layers.append(read_oxprops_swift(p))
        used.append('MS-OXPROPS sections (PropertyId.swift)')
    p = os.path.join(src, 'PidTagPropertyEnum.cs')
    if os.path.exists(p):
        layers.append(read_inspector_enum(p))
        used.append('Microsoft MAPI Inspector PidTag list (PidTagPropertyEnum.cs)')
    p = os.path.join(src, 'msdocs')
    if os.path.isdir(p):
        layers.append(read_msdocs(p))
        used.append('Microsoft Outlook MAPI canonical property pages (msdocs/)')
    oc = []
    p = os.path.join(src, 'mapi-properties')
    if os.path.exists(p):
        oc = read_openchange(p)
        used.append('OpenChange mapi-properties')
    if not used:
        sys.exit('gen_proptags: no source file found in ' + src)
    supplement = []
    for name, pid, types, pr in SUPPLEMENT:
        prop = Prop(name, pid, 'supplement')
        prop.add_types(types)
        prop.pr = pr
        supplement.append(prop)
    layers.insert(1, supplement)
    used.insert(1, 'a few MS-OXPROPS facts listed in the script (SUPPLEMENT)')

    # Canonical properties by name; the first layer that knows one wins for
    # its ID, later layers add types and PR names it lacks.
    byname = {}
    order = []
    for layer in layers:
        for prop in layer:
            have = byname.get(prop.name)
            if have is None:
                byname[prop.name] = prop
                order.append(prop)
                continue
            if have.pid != prop.pid:
                warn('%s: ID 0x%04X (%s) vs 0x%04X (%s), keeping the first'
                     % (prop.name, have.pid, have.source, prop.pid, prop.source))
                continue
            if not have.types:
                have.add_types(prop.types)
            if have.pr is None:
                have.pr = prop.pr

    # ID -> name: the first property seen with that ID (spec order first).
    idname = {}
    for prop in order:
        idname.setdefault(prop.pid, prop.name)

    # Tag -> (PidTag name, PR name).
    tags = {}

    def add_tag(tag, pidtag, pr):
        have = tags.get(tag)
        if have is None:
            tags[tag] = [pidtag, pr]
            return
        if have[0] is None:
            have[0] = pidtag
        if have[1] is None:
            have[1] = pr

    for prop in order:
        types = list(prop.types)
        for t in prop.types:
            if t in STRING_PAIRS and STRING_PAIRS[t] not in types:
                types.append(STRING_PAIRS[t])
        for t in types:
            add_tag((prop.pid << 16) | t, prop.name, pr_for_type(prop.pr, t))

    for tag, pr, pidtag in oc:
        ptype = tag & 0xFFFF
        if ptype not in VALID_TYPES:
            warn('openchange: 0x%08X %s: bad type' % (tag, pr))
            continue
        name = pidtag if pidtag in byname else None
        if name is None:
            # Same ID and a type the spec knows for it: the same property.
            cands = [p for p in order if p.pid == tag >> 16 and
                     (ptype in p.types or STRING_PAIRS.get(ptype) in p.types)]
            name = cands[0].name if cands else None
        base = pr[:-len('_UNICODE')] if pr.endswith('_UNICODE') else pr
        if ptype == 0x000D and pr.endswith('_O') and tag in tags:
            # Address-book object variants keep the SDK's "_O" name
            # (PR_EMS_AB_HOME_MDB_O), distinct from the string variant.
            tags[tag][1] = pr
        add_tag(tag, name, pr)
        if ptype in STRING_PAIRS:
            add_tag((tag & 0xFFFF0000) | STRING_PAIRS[ptype], name,
                    pr_for_type(base, STRING_PAIRS[ptype]))

    emit(sorted(tags.items()), sorted(idname.items()), used)


def cstr(s):
    return 'NULL' if s is None else '"%s"' % s


def emit(tags, ids, used):
    w = sys.stdout.write
    w('/*\n')
    w(' * GENERATED FILE - do not edit. Made by:\n')
    w(' *   /usr/bin/python3 scripts/gen_proptags.py SRCDIR > src/mapi/names_proptags.c\n')
    w(' * (see the script for what SRCDIR holds). Sources of the facts:\n')
    for u in used:
        w(' *   - %s\n' % u)
    w(' * %d property tags, %d property IDs.\n' % (len(tags), len(ids)))
    w(' */\n')
    w('#include "mapi/names_tables.h"\n\n')
    w('/* Sorted by tag (ID << 16 | type); looked up by binary search. */\n')
    w('const struct mp_proptag_entry mp_proptag_table[] = {\n')
    for tag, (pidtag, pr) in tags:
        w('\t{0x%08X, %s, %s},\n' % (tag, cstr(pidtag), cstr(pr)))
    w('};\n')
    w('const size_t mp_proptag_table_len = sizeof(mp_proptag_table) / sizeof(mp_proptag_table[0]);\n\n')
    w('/* Sorted by property ID: the canonical name of each ID. */\n')
    w('const struct mp_propid_entry mp_propid_table[] = {\n')
    for pid, name in ids:
        w('\t{0x%04X, "%s"},\n' % (pid, name))
    w('};\n')
    w('const size_t mp_propid_table_len = sizeof(mp_propid_table) / sizeof(mp_propid_table[0]);\n')


if __name__ == '__main__':
    main()
