#!/usr/bin/python3
"""Regenerate tests/unit/data/ntlm_impacket_*.bin with impacket as the NTLM client.

    /usr/bin/python3 tests/unit/data/gen_ntlm_impacket.py BUILD/tests/unit/test_ntlm_impacket

Needs Debian's python3-impacket (0.10). For each scenario ("v2": NTLMv2 with
sign+seal and key exchange; "v1": NTLMv1 with extended session security, no
session security) it
  1. writes impacket's NEGOTIATE            -> ntlm_impacket_<s>_negotiate.bin
  2. runs `test_ntlm_impacket --emit-challenge` so that OUR server answers
     (fixed RNG and clock, see test_ntlm_impacket.c) -> <s>_challenge.bin
  3. writes impacket's AUTHENTICATE          -> <s>_authenticate.bin
     and its exported session key            -> <s>_session_key.bin
  4. (v2) seals two client->server messages with impacket's client keys
     -> v2_c2s.bin, and computes what the server must send for two replies
     with impacket's server keys -> v2_s2c.bin  ([sig 16][sealed] each),
     and writes impacket's NT hash of the password -> v2_nt_hash.bin.
impacket draws its client challenge and session key from `random`, which is
seeded here, so a rerun reproduces the same files. The credentials are test
values only.
"""
import os
import random
import subprocess
import sys

from Cryptodome.Cipher import ARC4
from impacket import ntlm

USER = "jürgen"
DOMAIN = "MPDOMAIN"
PASSWORD = "pässwort-ß!"  # Latin-1 only: impacket also derives an LM hash from it
WORKSTATION = "WS-IMPACKET"
C2S = [b"client to server #0: hello from impacket",
       b"client to server #1: a second, longer message to check "
       b"that the RC4 state carries over between PDUs"]
S2C = [b"server to client #0: hello from mapiproxy",
       b"server to client #1: and a second reply"]

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name, data):
    with open(os.path.join(HERE, "ntlm_impacket_%s.bin" % name), "wb") as f:
        f.write(data)


def our_challenge(helper, scenario, negotiate):
    neg = os.path.join(HERE, "ntlm_impacket_%s_negotiate.bin" % scenario)
    chal = os.path.join(HERE, "ntlm_impacket_%s_challenge.bin" % scenario)
    out("%s_negotiate" % scenario, negotiate)
    subprocess.run([helper, "--emit-challenge", neg, chal], check=True)
    with open(chal, "rb") as f:
        return f.read()


def seal_all(flags, key, mode, messages):
    sign_key = ntlm.SIGNKEY(flags, key, mode)
    seal_key = ntlm.SEALKEY(flags, key, mode)
    handle = ARC4.new(seal_key).encrypt
    blob = b""
    for seq, msg in enumerate(messages):
        sealed, sig = ntlm.SEAL(flags, sign_key, seal_key, msg, msg, seq, handle)
        blob += sig.getData() + sealed
    return blob


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    helper = sys.argv[1]
    random.seed(20240601)

    # NTLMv2, sign + seal, key exchange.
    type1 = ntlm.getNTLMSSPType1(WORKSTATION, "", signingRequired=True, use_ntlmv2=True)
    chal = our_challenge(helper, "v2", type1.getData())
    type3, key = ntlm.getNTLMSSPType3(type1, chal, USER, PASSWORD, DOMAIN, use_ntlmv2=True)
    out("v2_authenticate", type3.getData())
    out("v2_session_key", key)
    out("v2_nt_hash", ntlm.compute_nthash(PASSWORD))
    flags = type3["flags"]
    out("v2_c2s", seal_all(flags, key, "Client", C2S))
    out("v2_s2c", seal_all(flags, key, "Server", S2C))

    # NTLMv1 with extended session security, no session security.
    type1 = ntlm.getNTLMSSPType1(WORKSTATION, "", signingRequired=False, use_ntlmv2=False)
    chal = our_challenge(helper, "v1", type1.getData())
    type3, key = ntlm.getNTLMSSPType3(type1, chal, USER, PASSWORD, DOMAIN, use_ntlmv2=False)
    out("v1_authenticate", type3.getData())
    out("v1_session_key", key)


if __name__ == "__main__":
    main()
