#!/usr/bin/python3
"""Regenerate tests/unit/data/spnego_*.bin and the seeds in tests/fuzz/corpus/spnego/.

    /usr/bin/python3 tests/unit/data/gen_spnego.py BUILD/tests/unit/test_spnego

Needs Debian 12's python3-impacket (0.10), python3-pyasn1 (0.4.8) and
python3-samba (4.17). Nothing here uses our C encoder to make a vector; the
tokens come from three independent producers:

 1. impacket.spnego (SPNEGO_NegTokenInit, SPNEGO_NegTokenResp, TypesMech)
    wrapping the fixed NTLM messages ntlm_impacket_v2_{negotiate,challenge,
    authenticate}.bin (made by gen_ntlm_impacket.py)   -> spnego_imp_*.bin
    impacket can only write mechTypes + mechToken, and negState +
    supportedMech + responseToken in a few combinations;
 2. pyasn1's DER encoder, with the ASN.1 of [RFC4178] 4.2 and [MS-SPNG]
    2.2.1 (NegTokenInit2, NegHints) written out below, for everything else:
    reqFlags, mechListMIC in both places, negHints, lone fields, an unknown
    OID                                               -> spnego_asn1_*.bin
 3. Samba's own SPNEGO client (samba.gensec "spnego", NTLMSSP, sign + seal)
    against OUR server, run step by step as `test_spnego --serve DIR PREFIX
    N` (fixed RNG and clock, so the test replays it exactly):
       <p>_c1  Samba: NegTokenInit(NTLMSSP, NEGOTIATE)
       <p>_s1  ours:  NegTokenResp(accept-incomplete, NTLMSSP, CHALLENGE)
       <p>_c2  Samba: NegTokenResp(AUTHENTICATE, mechListMIC)
       <p>_s2  ours:  NegTokenResp(accept-completed, mechListMIC)
    Samba must accept s1 and s2 (update() returns finished) and check our
    post-handshake messages <p>_s2c (a signature, then a sealed message);
    its own post-handshake messages are <p>_c2s (sign_packet, then wrap)
    and its exported session key <p>_session_key. Prefix spnego_samba: with
    mechListMIC (Samba's default: its AUTHENTICATE carries an NTLM MIC);
    spnego_samba_nomic: "ntlmssp_client:force_old_spnego", no NTLM MIC and
    no mechListMIC.
    Samba draws its client challenge and session key at random, so these
    files change on every run (impacket's and pyasn1's do not).

Every vector is decoded again by its producer. The fuzz seeds are copies of
the vectors plus a few malformed tokens.
"""
import os
import shutil
import subprocess
import sys

from impacket import spnego as imp
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.codec.der import encoder as der_encoder
from pyasn1.type import char, namedtype, namedval, tag, univ

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "..", "fuzz", "corpus", "spnego")

USER = "jürgen"
DOMAIN = "MPDOMAIN"
PASSWORD = "pässwort-ß!"
WORKSTATION = "WS-SAMBA"

# Post-handshake plaintexts; test_spnego.c has the same strings.
S2C = [b"server to client after SPNEGO: signed",
       b"server to client after SPNEGO: sealed"]
C2S = [b"client to server after SPNEGO: signed by samba",
       b"client to server after SPNEGO: wrapped by samba"]

OID_NTLMSSP = "1.3.6.1.4.1.311.2.2.10"
OID_KRB5 = "1.2.840.113554.1.2.2"
OID_MS_KRB5 = "1.2.840.48018.1.2.2"
OID_NEGOEX = "1.3.6.1.4.1.311.2.2.30"
OID_UNKNOWN = "2.999.3"  # first sub-identifier 1079: two octets
HINT_NAME = b"not_defined_in_RFC4178@please_ignore"


def fake(n, seed):
    """Deterministic filler bytes; fake_bytes() in test_spnego.c is the same."""
    return bytes((seed + 31 * i) & 0xff for i in range(n))


def read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def out(name, data):
    with open(os.path.join(HERE, "spnego_%s.bin" % name), "wb") as f:
        f.write(data)
    return data


# ---- 1. impacket ------------------------------------------------------------

def imp_init(mech_names, token=None):
    t = imp.SPNEGO_NegTokenInit()
    t["MechTypes"] = [imp.TypesMech[n] for n in mech_names]
    if token is not None:
        t["MechToken"] = token
    data = t.getData()
    back = imp.SPNEGO_NegTokenInit(data)
    assert back["MechTypes"] == t["MechTypes"]
    assert back.fields.get("MechToken") == token
    return data


def imp_resp(state=None, mech=None, token=None):
    t = imp.SPNEGO_NegTokenResp()
    if state is not None:
        t["NegState"] = bytes([state])
    if mech is not None:
        t["SupportedMech"] = imp.TypesMech[mech]
    if token is not None:
        t["ResponseToken"] = token
    data = t.getData()
    if token is not None:  # impacket's parser wants a responseToken
        back = imp.SPNEGO_NegTokenResp(data)
        assert back["ResponseToken"] == token
        assert back.fields.get("NegState") == t.fields.get("NegState")
        assert back.fields.get("SupportedMech") == t.fields.get("SupportedMech")
    return data


NTLM = "NTLMSSP - Microsoft NTLM Security Support Provider"
KRB5 = "KRB5 - Kerberos 5"
MS_KRB5 = "MS KRB5 - Microsoft Kerberos 5"
NEGOEX = "NEGOEX - SPNEGO Extended Negotiation Security Mechanism"


def gen_impacket():
    neg = read("ntlm_impacket_v2_negotiate.bin")
    chal = read("ntlm_impacket_v2_challenge.bin")
    auth = read("ntlm_impacket_v2_authenticate.bin")
    out("imp_init_ntlm", imp_init([NTLM], neg))
    out("imp_init_notoken", imp_init([NTLM]))
    # As Windows offers it, with a 1500-byte stand-in for a Kerberos AP-REQ.
    out("imp_init_multi", imp_init([MS_KRB5, KRB5, NEGOEX, NTLM], fake(1500, 1)))
    out("imp_resp_challenge", imp_resp(1, NTLM, chal))
    out("imp_resp_request_mic", imp_resp(3, NTLM))
    out("imp_resp_completed", imp_resp(0))
    out("imp_resp_auth", imp_resp(token=auth))


# ---- 2. pyasn1 --------------------------------------------------------------

def ctx(n):
    return tag.Tag(tag.tagClassContext, tag.tagFormatConstructed, n)


class MechTypeList(univ.SequenceOf):
    componentType = univ.ObjectIdentifier()


class NegTokenInit(univ.Sequence):  # RFC 4178 4.2.1
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("mechTypes", MechTypeList().subtype(explicitTag=ctx(0))),
        namedtype.OptionalNamedType("reqFlags", univ.BitString().subtype(explicitTag=ctx(1))),
        namedtype.OptionalNamedType("mechToken", univ.OctetString().subtype(explicitTag=ctx(2))),
        namedtype.OptionalNamedType("mechListMIC",
                                    univ.OctetString().subtype(explicitTag=ctx(3))))


class NegHints(univ.Sequence):  # MS-SPNG 2.2.1
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("hintName",
                                    char.GeneralString().subtype(explicitTag=ctx(0))),
        namedtype.OptionalNamedType("hintAddress",
                                    univ.OctetString().subtype(explicitTag=ctx(1))))


class NegTokenInit2(univ.Sequence):  # MS-SPNG 2.2.1
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("mechTypes", MechTypeList().subtype(explicitTag=ctx(0))),
        namedtype.OptionalNamedType("reqFlags", univ.BitString().subtype(explicitTag=ctx(1))),
        namedtype.OptionalNamedType("mechToken", univ.OctetString().subtype(explicitTag=ctx(2))),
        namedtype.OptionalNamedType("negHints", NegHints().subtype(explicitTag=ctx(3))),
        namedtype.OptionalNamedType("mechListMIC",
                                    univ.OctetString().subtype(explicitTag=ctx(4))))


class NegState(univ.Enumerated):
    namedValues = namedval.NamedValues(("accept-completed", 0), ("accept-incomplete", 1),
                                       ("reject", 2), ("request-mic", 3))


class NegTokenResp(univ.Sequence):  # RFC 4178 4.2.2
    componentType = namedtype.NamedTypes(
        namedtype.OptionalNamedType("negState", NegState().subtype(explicitTag=ctx(0))),
        namedtype.OptionalNamedType("supportedMech",
                                    univ.ObjectIdentifier().subtype(explicitTag=ctx(1))),
        namedtype.OptionalNamedType("responseToken",
                                    univ.OctetString().subtype(explicitTag=ctx(2))),
        namedtype.OptionalNamedType("mechListMIC",
                                    univ.OctetString().subtype(explicitTag=ctx(3))))


class InitialContextToken(univ.Sequence):  # RFC 2743 3.1
    tagSet = univ.Sequence.tagSet.tagImplicitly(
        tag.Tag(tag.tagClassApplication, tag.tagFormatConstructed, 0))
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("thisMech", univ.ObjectIdentifier()),
        namedtype.NamedType("innerContextToken", univ.Any()))


def asn1_init(spec, **fields):
    t = spec()
    for k, v in fields.items():
        if k == "mechTypes":
            ml = t.getComponentByName("mechTypes").clone()
            for i, oid in enumerate(v):
                ml.setComponentByPosition(i, univ.ObjectIdentifier(oid))
            t.setComponentByName("mechTypes", ml)
        elif k == "negHints":
            h = t.getComponentByName("negHints").clone()
            for hk, hv in v.items():
                h.setComponentByName(hk, hv)
            t.setComponentByName("negHints", h)
        elif k == "reqFlags":
            t.setComponentByName(k, t.getComponentByName(k).clone(binValue=v))
        else:
            t.setComponentByName(k, v)
    inner = der_encoder.encode(t)
    # NegotiationToken CHOICE: negTokenInit [0], explicit.
    choice = univ.Any(b"\xa0" + der_length(len(inner)) + inner)
    ict = InitialContextToken()
    ict.setComponentByName("thisMech", univ.ObjectIdentifier("1.3.6.1.5.5.2"))
    ict.setComponentByName("innerContextToken", choice)
    data = der_encoder.encode(ict)
    # Decode it back the same way.
    back, rest = der_decoder.decode(data, asn1Spec=InitialContextToken())
    assert rest == b"" and str(back["thisMech"]) == "1.3.6.1.5.5.2"
    wrapped = bytes(back["innerContextToken"])
    assert wrapped[0] == 0xa0
    body, rest = der_decoder.decode(wrapped[1 + len(der_length(len(inner))):], asn1Spec=spec())
    assert rest == b"" and der_encoder.encode(body) == inner
    return data


def asn1_resp(**fields):
    t = NegTokenResp()
    for k, v in fields.items():
        t.setComponentByName(k, v)
    inner = der_encoder.encode(t)
    data = b"\xa1" + der_length(len(inner)) + inner
    body, rest = der_decoder.decode(inner, asn1Spec=NegTokenResp())
    assert rest == b"" and der_encoder.encode(body) == inner
    return data


def der_length(n):
    """The one piece of DER done by hand: the length of the explicit [0]/[1]
    around NegotiationToken's alternatives (pyasn1 encodes the inside)."""
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def gen_asn1():
    neg = read("ntlm_impacket_v2_negotiate.bin")
    chal = read("ntlm_impacket_v2_challenge.bin")
    auth = read("ntlm_impacket_v2_authenticate.bin")
    out("asn1_init_full", asn1_init(
        NegTokenInit, mechTypes=[OID_NTLMSSP, OID_KRB5],
        reqFlags="0100001", mechToken=neg, mechListMIC=fake(16, 2)))
    # What a Windows server sends (as in SMB2 NEGOTIATE): no token, a hint.
    out("asn1_init2_hints", asn1_init(
        NegTokenInit2, mechTypes=[OID_NEGOEX, OID_MS_KRB5, OID_KRB5, OID_NTLMSSP],
        negHints={"hintName": HINT_NAME}))
    out("asn1_init2_mic", asn1_init(
        NegTokenInit2, mechTypes=[OID_NTLMSSP], mechToken=fake(40, 3),
        negHints={"hintName": b"x", "hintAddress": fake(4, 4)}, mechListMIC=fake(16, 5)))
    out("asn1_init2_mic_only", asn1_init(
        NegTokenInit2, mechTypes=[OID_NTLMSSP], mechListMIC=fake(16, 9)))
    out("asn1_init_unknown_oid", asn1_init(
        NegTokenInit, mechTypes=[OID_UNKNOWN, OID_NTLMSSP], mechToken=neg))
    out("asn1_resp_full", asn1_resp(
        negState=1, supportedMech=OID_NTLMSSP, responseToken=chal,
        mechListMIC=fake(16, 6)))
    out("asn1_resp_mic_only", asn1_resp(negState=0, mechListMIC=fake(16, 7)))
    out("asn1_resp_client_mic", asn1_resp(responseToken=auth, mechListMIC=fake(16, 8)))
    out("asn1_resp_reject", asn1_resp(negState=2))
    out("asn1_resp_empty", asn1_resp())
    # A responseToken long enough for a three-octet length (0x83).
    out("asn1_resp_long", asn1_resp(negState=1, responseToken=fake(70000, 10)))


# ---- 3. Samba ---------------------------------------------------------------

def samba_flow(helper, prefix, old_spnego):
    from samba import gensec, param
    from samba.credentials import DONT_USE_KERBEROS, Credentials

    lp = param.LoadParm()
    lp.load_default()
    if old_spnego:
        lp.set("ntlmssp_client:force_old_spnego", "yes")
    creds = Credentials()
    creds.guess(lp)
    creds.set_username(USER)
    creds.set_domain(DOMAIN)
    creds.set_password(PASSWORD)
    creds.set_workstation(WORKSTATION)
    creds.set_kerberos_state(DONT_USE_KERBEROS)
    c = gensec.Security.start_client({"lp_ctx": lp, "target_hostname": "mpserver"})
    c.set_credentials(creds)
    c.want_feature(gensec.FEATURE_SIGN)
    c.want_feature(gensec.FEATURE_SEAL)
    c.start_mech_by_name("spnego")

    def ours(step):
        subprocess.run([helper, "--serve", HERE, prefix, str(step)], check=True)
        return read("%s_s%d.bin" % (prefix, step))

    finished, c1 = c.update(b"")
    assert not finished
    out("%s_c1" % prefix[len("spnego_"):], c1)
    finished, c2 = c.update(ours(1))
    assert not finished
    out("%s_c2" % prefix[len("spnego_"):], c2)
    finished, last = c.update(ours(2))
    assert finished and last == b"", (finished, last)

    # Our post-handshake messages: Samba must take them.
    s2c = read("%s_s2c.bin" % prefix)
    sig0, sig1, sealed1 = s2c[:16], s2c[16:32], s2c[32:]
    c.check_packet(S2C[0], S2C[0], sig0)
    assert c.unwrap(sig1 + sealed1) == S2C[1]
    # Samba's, for the test to check.
    sig = c.sign_packet(C2S[0], C2S[0])
    wrapped = c.wrap(C2S[1])
    assert len(sig) == 16 and len(wrapped) == 16 + len(C2S[1])
    out("%s_c2s" % prefix[len("spnego_"):], sig + wrapped)
    out("%s_session_key" % prefix[len("spnego_"):], c.session_key())


def gen_samba(helper):
    for prefix, old in (("spnego_samba", False), ("spnego_samba_nomic", True)):
        for f in os.listdir(HERE):
            if f.startswith(prefix + "_") and f[len(prefix) + 1:].split(".")[0] in (
                    "c1", "c2", "s1", "s2", "s2c", "c2s", "session_key"):
                os.remove(os.path.join(HERE, f))
        samba_flow(helper, prefix, old)


# ---- fuzz seeds -------------------------------------------------------------

def gen_corpus():
    shutil.rmtree(CORPUS, ignore_errors=True)
    os.makedirs(CORPUS)
    for f in sorted(os.listdir(HERE)):
        if f.startswith("spnego_") and f.endswith(".bin") and "session_key" not in f \
                and "s2c" not in f and "c2s" not in f:
            shutil.copy(os.path.join(HERE, f), os.path.join(CORPUS, f[len("spnego_"):-4]))
    bad = {
        "indefinite_length": bytes.fromhex("a18030800000a0030a01010000"),
        "nonminimal_length": bytes.fromhex("a1810730050a0103"),
        "huge_length": bytes.fromhex("a184ffffffff3005a0030a0101"),
        "negstate_4": bytes.fromhex("a1073005a0030a0104"),
        "fields_out_of_order": bytes.fromhex("a10d300ba2040402aabba0030a0101"),
        "empty_mechtypes": bytes.fromhex("601006062b0601050502a0063004a0023000"),
        "deep_nesting": bytes.fromhex("6020" "06062b0601050502" "a016" "3014" "a012" "3010")
        + bytes.fromhex("300e300c300a3008300630043002") + b"\x30\x00",
        # Found by fuzz_spnego: an arc above 2^64 after printable ones.
        "huge_oid_arc": bytes.fromhex(
            "606a06062b0601050502a060305ea03030" "2e06152b06010401823702ffffffffffffffff"
            "f71201020206092a864886f71201020206" "0a2b06010401823402020aa32a3028a0261b24")
        + b"not_defined_in_RFC4178@plsaee_ignore",
    }
    for name, data in bad.items():
        with open(os.path.join(CORPUS, "bad_" + name), "wb") as f:
            f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    gen_impacket()
    gen_asn1()
    gen_samba(sys.argv[1])
    gen_corpus()


if __name__ == "__main__":
    main()
