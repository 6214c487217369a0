"""robocorp.vault shim: FileSecrets from JSON and YAML (RPA_* and RC_* settings),
get_secret / set_secret written back / create_secret, SecretContainer, log hiding."""

import json
import os
import tempfile
import textwrap
import unittest
from pathlib import Path

from robocorp import log, vault
from robocorp.log import _state
from robocorp.vault import RobocorpVaultError, SecretContainer, _yaml

ENV = ("RC_VAULT_SECRET_MANAGER", "RPA_SECRET_MANAGER", "RC_VAULT_SECRETS_FILE",
       "RPA_SECRET_FILE", "ROBOT_ROOT")


class VaultCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = Path(self.tmp.name)
        self._env = dict(os.environ)
        for k in ENV:
            os.environ.pop(k, None)
        vault._get_vault.cache_clear()
        self._hide = set(_state.redacter.config.hide_strings)

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self._env)
        vault._get_vault.cache_clear()
        cfg = _state.redacter.config
        cfg.hide_strings.clear()
        cfg.hide_strings.update(self._hide)
        self.tmp.cleanup()

    def json_file(self, data, name="secrets.json"):
        p = self.root / name
        p.write_text(json.dumps(data))
        return p


class TestFileSecrets(VaultCase):
    DATA = {"creds": {"username": "bob", "password": "s3cr3t-pw"}, "other": {"k": 1}}

    def test_rpa_settings_json(self):
        path = self.json_file(self.DATA)
        os.environ["RPA_SECRET_MANAGER"] = "RPA.Robocorp.Vault.FileSecrets"
        os.environ["RPA_SECRET_FILE"] = str(path)
        s = vault.get_secret("creds")
        self.assertIsInstance(s, SecretContainer)
        self.assertEqual(s.name, "creds")
        self.assertEqual(s.description, "")
        self.assertEqual(s["username"], "bob")
        self.assertEqual(dict(s), {"username": "bob", "password": "s3cr3t-pw"})
        with self.assertRaises(KeyError) as cm:
            vault.get_secret("nope")
        self.assertIn("Undefined secret: nope", str(cm.exception))

    def test_rc_settings_win_and_relative_path(self):
        self.json_file({"a": {"x": "from-rc"}}, "rc.json")
        self.json_file({"a": {"x": "from-rpa"}}, "rpa.json")
        os.environ.update({"RC_VAULT_SECRET_MANAGER": "FileSecrets",
                           "RPA_SECRET_MANAGER": "Nope.Nothing",
                           "RC_VAULT_SECRETS_FILE": "rc.json", "RPA_SECRET_FILE": "rpa.json",
                           "ROBOT_ROOT": str(self.root)})
        self.assertEqual(vault.get_secret("a")["x"], "from-rc")

    def test_set_secret_written_back(self):
        path = self.json_file(self.DATA)
        os.environ.update({"RC_VAULT_SECRET_MANAGER": "FileSecrets",
                           "RC_VAULT_SECRETS_FILE": str(path)})
        s = vault.get_secret("creds")
        s["password"] = "new-pw-123"
        s.update({"extra": "e"})
        vault.set_secret(s)
        on_disk = json.loads(path.read_text())
        self.assertEqual(on_disk["creds"],
                         {"username": "bob", "password": "new-pw-123", "extra": "e"})
        self.assertEqual(on_disk["other"], {"k": 1})
        self.assertEqual(vault.get_secret("creds")["password"], "new-pw-123")
        created = vault.create_secret("fresh", {"token": "t-456"}, description="d")
        self.assertEqual(created.description, "d")
        self.assertEqual(json.loads(path.read_text())["fresh"], {"token": "t-456"})
        with self.assertRaises(RobocorpVaultError):
            vault.create_secret("fresh", {"token": "x"})
        vault.create_secret("fresh", {"token": "y"}, exist_ok=True)
        self.assertEqual(vault.get_secret("fresh")["token"], "y")

    def test_yaml_file_and_write_back(self):
        path = self.root / "secrets.yaml"
        path.write_text(textwrap.dedent("""\
            # local secrets
            creds:
              username: bob
              password: "p#ss: word"   # quoted
              port: 5432
              key: |
                -----BEGIN KEY-----
                abc
                -----END KEY-----
            other:
              enabled: yes
        """))
        os.environ.update({"RPA_SECRET_MANAGER": "FileSecrets",
                           "RPA_SECRET_FILE": str(path)})
        s = vault.get_secret("creds")
        self.assertEqual(s["password"], "p#ss: word")
        self.assertEqual(s["port"], 5432)
        self.assertEqual(s["key"], "-----BEGIN KEY-----\nabc\n-----END KEY-----\n")
        self.assertIs(vault.get_secret("other")["enabled"], True)
        s["password"] = 'new "quoted" pw'
        vault.set_secret(s)
        vault._get_vault.cache_clear()
        again = vault.get_secret("creds")
        self.assertEqual(dict(again), dict(s))
        self.assertIs(vault.get_secret("other")["enabled"], True)
        try:
            import yaml  # Debian's PyYAML, to check that what we write is YAML
        except ImportError:
            return
        self.assertEqual(yaml.safe_load(path.read_text())["creds"], dict(s))

    def test_bad_settings(self):
        os.environ["RPA_SECRET_MANAGER"] = "FileSecrets"
        os.environ["RPA_SECRET_FILE"] = str(self.root / "secrets.txt")
        with self.assertRaisesRegex(ValueError, "extension '.txt' not supported"):
            vault.get_secret("x")
        vault._get_vault.cache_clear()
        os.environ["RPA_SECRET_MANAGER"] = "no.such.Adapter"
        with self.assertRaisesRegex(ValueError, "seems to have a wrong value"):
            vault.get_secret("x")
        vault._get_vault.cache_clear()
        del os.environ["RPA_SECRET_MANAGER"]
        with self.assertRaisesRegex(RobocorpVaultError, "FileSecrets"):
            vault.get_secret("x")
        vault._get_vault.cache_clear()
        path = self.json_file(["not", "a", "dict"])
        os.environ.update({"RPA_SECRET_MANAGER": "FileSecrets", "RPA_SECRET_FILE": str(path)})
        with self.assertRaisesRegex(ValueError, "Expected dictionary"):
            vault.get_secret("x")

    def test_custom_adapter(self):
        import sys
        import types

        from robocorp.vault._adapters import BaseSecretManager

        mod = types.ModuleType("my_vault_adapter_mod")

        class Mine(BaseSecretManager):
            def get_secret(self, name):
                return SecretContainer(name, "mine", {"v": name.upper()})

            def set_secret(self, secret):
                pass

        mod.Mine = Mine
        sys.modules["my_vault_adapter_mod"] = mod
        self.addCleanup(sys.modules.pop, "my_vault_adapter_mod", None)
        os.environ["RC_VAULT_SECRET_MANAGER"] = "my_vault_adapter_mod.Mine"
        self.assertEqual(vault.get_secret("abc")["v"], "ABC")

    def test_values_hidden_from_log(self):
        path = self.json_file(self.DATA)
        os.environ.update({"RPA_SECRET_MANAGER": "FileSecrets", "RPA_SECRET_FILE": str(path)})
        vault.get_secret("creds")
        self.assertEqual(_state.redacter.redact("user bob pw s3cr3t-pw"),
                         "user <redacted> pw <redacted>")
        vault.get_secret("other", hide=False)
        self.assertNotIn("1", _state.redacter.config.hide_strings)


class TestSecretContainer(unittest.TestCase):
    def test_mapping_behaviour(self):
        s = SecretContainer("n", "desc", {"a": "1", 2: "two"})
        self.assertEqual(s.name, "n")
        self.assertEqual(s.description, "desc")
        self.assertEqual(list(s.keys()), ["a", "2"])
        self.assertEqual(list(s.items()), [("a", "1"), ("2", "two")])
        self.assertEqual(list(s.values()), ["1", "two"])
        self.assertEqual(len(s), 2)
        self.assertIn(2, s)
        self.assertEqual(s[2], "two")
        self.assertEqual(s.get("missing", "d"), "d")
        s["b"] = "x"
        s.update({"c": "y"})
        self.assertEqual(dict(s), {"a": "1", "2": "two", "b": "x", "c": "y"})
        with self.assertRaises(KeyError):
            s["nope"]
        self.assertEqual(repr(s), "Secret(name=n, keys=[a, 2, b, c])")
        self.assertNotIn("two", repr(s))
        self.assertNotIn("two", str(s))
        with self.assertRaises(AttributeError):
            s.name = "other"


class TestYamlSubset(unittest.TestCase):
    def test_scalars_and_structures(self):
        doc = textwrap.dedent("""\
            ---
            a: plain text
            b: 'it''s'
            c: "tab\\tand \\"q\\""
            d: ~
            e:
            f: 1_000
            g: -2.5e3
            h: [x, 2, "y"]
            i: {"j": [1, 2]}
            k:
              - one
              - name: two
                value: 2
              -
                - nested
            l: >
              folded
              text
            m: http://host:80/p#frag
            "quoted key": 1
        """)
        self.assertEqual(_yaml.loads(doc), {
            "a": "plain text", "b": "it's", "c": 'tab\tand "q"', "d": None, "e": None,
            "f": 1000, "g": -2500.0, "h": ["x", 2, "y"], "i": {"j": [1, 2]},
            "k": ["one", {"name": "two", "value": 2}, ["nested"]],
            "l": "folded text\n", "m": "http://host:80/p#frag", "quoted key": 1})

    def test_round_trip_and_errors(self):
        data = {"s": {"a": 'x"y\nz', "b": [1, {"c": None}], "d": {}, "e": [], "f": True}}
        self.assertEqual(_yaml.loads(_yaml.dumps(data)), data)
        for bad in ("a: &anchor x", "a: 1\n  b: 2", "a: 1\n---\nb: 2", "a: {b: c}"):
            with self.assertRaises(ValueError, msg=bad):
                _yaml.loads(bad)


if __name__ == "__main__":
    unittest.main()
