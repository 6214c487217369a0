"""Input.email() (spec §6 item 21)."""

import unittest

from robocorp.workitems import Input

from wi_helpers import MockAdapter

EMAIL = {
    "from": {"name": "Sender", "address": "sender@example.com"},
    "to": [{"name": "Robot", "address": "robot@example.com"}],
    "cc": [],
    "bcc": [],
    "subject": "Invoice 42",
    "date": "2024-05-01T10:00:00Z",
    "text": "Please pay.",
}


def make_input(payload, files=None):
    MockAdapter.seed = [{"payload": payload, "files": files or {}}]
    try:
        adapter = MockAdapter()
    finally:
        MockAdapter.seed = None
    item = Input(adapter=adapter, item_id=adapter.reserve_input())
    item.load()
    return item


class TestEmail(unittest.TestCase):
    def test_no_email(self):
        with self.assertRaisesRegex(ValueError, "No email in work item"):
            make_input({"other": 1}).email()
        with self.assertRaisesRegex(ValueError, "Expected 'dict' payload"):
            make_input([1]).email()

    def test_email_parsed(self):
        item = make_input({"email": EMAIL}, files={"__mail.html": b"<p>Please pay.</p>"})
        email = item.email()
        self.assertEqual(email.from_.address, "sender@example.com")
        self.assertEqual(email.to[0].name, "Robot")
        self.assertEqual(email.subject, "Invoice 42")
        self.assertEqual(email.date.year, 2024)
        self.assertEqual(email.html, "<p>Please pay.</p>")
        self.assertIsNone(item.email(html=False).html)

    def test_email_failed_raises(self):
        payload = {
            "failedEmail": EMAIL,
            "errors": [
                {"message": "Attachment too big", "files": [{"name": "a.pdf"}, {"name": "b.pdf"}]},
                {"message": "Body truncated"},
            ],
        }
        item = make_input(payload)
        with self.assertRaises(ValueError) as cm:
            item.email()
        self.assertEqual(str(cm.exception), "Attachment too big (a.pdf, b.pdf)\nBody truncated")
        email = item.email(ignore_errors=True)
        self.assertEqual(email.subject, "Invoice 42")
        self.assertEqual(email.errors, ["Attachment too big (a.pdf, b.pdf)", "Body truncated"])

    def test_malformed_email(self):
        with self.assertRaisesRegex(ValueError, "Missing key in 'email' field"):
            make_input({"email": {"to": []}}).email()


if __name__ == "__main__":
    unittest.main()
