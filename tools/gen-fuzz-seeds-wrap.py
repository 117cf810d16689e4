#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpora of the wrapping and key-file fuzz targets from the test vectors of
# docs/protocol.md §15 (the file names say which). tls-auth seeds beyond the
# vectors are computed here with the standard library; tls-crypt needs AES, so its seeds are
# the published packets only. Usage: tools/gen-fuzz-seeds-wrap.py [corpus-dir]
import base64
import hashlib
import hmac
import pathlib
import struct
import sys

H = bytes.fromhex

KEY_15_2 = H(
    "37268ea8f95d7f71f9fb8fc03770c460daf714a483d815c013ce0a537efc18f2"
    "8f4f172669d9e6a413bac6741d8ea05400f49b7fd6326470f23798c606bf53d4"
    "de63ebc64ec59d57ce5d04d5b62e68b53ca6e5354351097fa370446c4d269f18"
    "7bb6ae54af2dc70ff7317fe2f8754b8282aad4202f9fa42c8640245d883e2c54"
    "a0c1c489a036cf3a8964d8d289c1583b9447c262b1da5fd167a5d27bd5ac5143"
    "17bc2343a31a2efc38dd920d910375f51c2e27f3afd36c49269da079f7ce466e"
    "bb0f9ad13e9bbb4665974e6bc24b513c5700393bf4a3e7f967e2f384069ac8a8"
    "e78b18b15604993fd16515cce9c0f3e42b4126b999005ade802797b0eeb8b9e6")

WKC_15_8 = H(
    "177da5c074a94619b16be4acb71f1a6ccf24f33c6bbaf498459d5f06c369d495"
    "2c78396efd93c2598f4771e068cafca3d2d387d87151392b1f74b43df2913707"
    "2ca3ceae6bf741153c97b0cf6d8386b0ddd4baa201fd024693fa44510e035c29"
    "691009bc2624ad8995f9171c1c1b02d9a7efc02436e868e90085a8276a19a6f7"
    "ce1daf85e16a18c3dd1a9ba46c5ad3deb70edd52f151e1be45dcd788c4c2a494"
    "a8bc504fd650e46306093e7cfa75a1218f44f3277055aeef56dc2a68b5d36dee"
    "ed3d927c407e90b18edacfdec7a6b037b0fe04c1b5c7d0fcea131721479cde64"
    "459faad7b482e276dadcfa7cfc5b34fa149bbf6b49a33a03f1212516aed22162"
    "6c7224d887cabc7f9c90c6376de16c6efd9e70b4f080674b4ece3e08b5323bed"
    "f04e6114df11acb31e012b")

SERVER_KEY_15_12 = H(
    "cbce280f08415f8277a1d5f30447c494c237ea21a2e9eb8fed3c4af781dcf71e"
    "c94e3783fe18196457327249cb9c055b12e1dd25447ebecc2f637f58ac13daa8"
    "d1f3f484db5c947945bf0cfe6e2cf3d958139f34d722579b6b7fbb491fbc1c18"
    "29a92e36cc206498d02194396d51249b10c0bf5111e697bc5211634c4195f3af")

V3_15_12 = H(
    "505c1d27bfdd0f01210f0000016b0a89dfd68444f139043f6263625629e34cd5789900c64a2e40febfa7c76f8168736842c6f59f8154e183f6dc82047b55e2ce"
    "6a2ada0e1d6d4d11fff5a9bcce43bc6aa102ec48c2290640c0e5a250f39acc533845ea8dcd6cb0d978295a1bd107e694ab1c4e178f4873ad5b925ea1db00e83e"
    "c1eb3f26e087c25be776deef06c840d26285ca5476bc37779a8ee46d4fe8cccfd90c5b9a10d2fc29bab140e72501a799581ce107b7fd056f9567b812f081fe78"
    "24dffce709bdd84d2cf971d5e864c7581d97f680b36fb224a83fd127540d8d31f28dd874c49a5de064364182d8144843f854b7c2c56453741fee9827ea65e900"
    "0fd64e227c8bcf842cf2cd7b90d069fce37d96b9b5e8c34fbfe8062e27db38d0100cf5146b6cc1857075ffe004732161f875551eae9b2893fa0ae40caaeeed32"
    "25b0a3a60d46cda6d77a3978d4f89345c31c6fa6cdc33b639836d07ce6ee31012b")


def tls_auth(key2, digest, slot, op, sid, rid, body):
    """§3.3: op || sid || HMAC(replay id || op || sid || body) || replay id || body."""
    hlen = hashlib.new(digest).digest_size
    key = key2[slot * 128 + 64:slot * 128 + 64 + hlen]
    mac = hmac.new(key, rid + bytes([op]) + sid + body, digest).digest()
    return bytes([op]) + sid + mac + rid + body


def static_key_file(key2):
    rows = "".join(key2[i:i + 16].hex() + "\n" for i in range(0, 256, 16))
    return ("#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n" + rows +
            "-----END OpenVPN Static key V1-----\n").encode()


def pem(name, data):
    b64 = base64.b64encode(data).decode()
    lines = "".join(b64[i:i + 64] + "\n" for i in range(0, len(b64), 64))
    return f"-----BEGIN {name}-----\n{lines}-----END {name}-----\n".encode()


def seeds():
    rid = struct.pack(">II", 1, 0x6b0a89e0)
    ctl = H("01 00000000 c1c3e3f64f6b16a7 00000001") + b"\x16\x03\x01" + bytes(40)  # §15.5-like CONTROL_V1
    yield "tls_auth_unwrap", "sha1_client_reset_15_4", H(
        "38de694c5c7bfba27493537c1ded4e781529ae7cfe4b8c6d6b2b51f05a0000000161d3bf6c0000000000")
    yield "tls_auth_unwrap", "sha256_client_reset_15_11", H(
        "38c1c3e3f64f6b16a78cceab23f48fb6c1f59efeaefaee3a2aa3dbffe722df1ea892fd3aa2392f3e0f000000016b0a89e00000000000")
    yield "tls_auth_unwrap", "sha256_server_reset_15_11", H(
        "40171d1f0c2afbff706a789ca5305b0e56d6cd9f19ed4c36ece4d2e64ed0dec0aa9e3b8649bc2c4139000000016b0a89e0"
        "0100000000c1c3e3f64f6b16a700000000")
    sid = H("de694c5c7bfba274")
    yield "tls_auth_unwrap", "key_sha1_control_15_2", tls_auth(KEY_15_2, "sha1", 1, 0x20, sid, rid, ctl)
    yield "tls_auth_unwrap", "key_sha512_control_15_2", tls_auth(KEY_15_2, "sha512", 1, 0x20, sid, rid, ctl)
    yield "tls_auth_unwrap", "key_sha1_bidir_ack_15_2", tls_auth(KEY_15_2, "sha1", 0, 0x28, sid, rid, ctl[:13])

    yield "tls_crypt_unwrap", "client_reset_15_3", H(
        "38f419cb12d1f9e48f0000000161d3f8e1330206f56802be44fbed905064e3db43416bec5e526719462b7eb90c96defc9b05c44879f7")
    yield "tls_crypt_unwrap", "client_reset_15_9", H(
        "3813c9813c6d92523c000000016b0a894eadb204f7cc34d0ff373c5e63dcd74a33c2a280d4a31eecac33884232dcf42917521d64f17b")
    yield "tls_crypt_unwrap", "server_reset_15_9", H(
        "404faf881fec4a79d4000000016b0a894e72e95ac496a2d2cdb62f2a5331a340666b11545acce1a7b700a1c3b7090eb32e"
        "0a519590dd5b6797de6ca77332a13d712a")
    yield "tls_crypt_unwrap", "plain_control_15_5", H("207819bf2ebcd19a450100000000eafebfa4418ae31b00000001") + b"\x16\x03\x01"

    yield "tcv2_unwrap", "v3_reset_15_12", V3_15_12
    yield "tcv2_unwrap", "wkc_15_8", WKC_15_8
    yield "tcv2_unwrap", "wkc_15_12", V3_15_12[54:]

    yield "static_key", "static_key_15_2", static_key_file(KEY_15_2)
    yield "static_key", "inline_tls_auth_15_2", b"<tls-auth>\n" + static_key_file(KEY_15_2) + b"</tls-auth>\n"
    yield "static_key", "server_key_15_8", pem("OpenVPN tls-crypt-v2 server key", bytes(range(128)))
    yield "static_key", "server_key_15_12", pem("OpenVPN tls-crypt-v2 server key", SERVER_KEY_15_12)
    yield "static_key", "client_key_15_8", pem("OpenVPN tls-crypt-v2 client key", bytes(range(256)) + WKC_15_8)


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "tests/fuzz/corpus")
    for target, name, data in seeds():
        d = root / target
        d.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)


if __name__ == "__main__":
    main()
