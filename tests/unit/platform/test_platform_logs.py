import logging
import sys

import orjson
import pytest

from derlink.platform.logs import JsonFormatter, mask


def test_bearer_and_basic_credentials_are_masked():
    assert mask("Authorization: Bearer operator.s3cr3t-value") == "Authorization: Bearer ****"
    assert mask("authorization=Basic b3BlcmF0b3I6cw==") == "authorization=Basic ****"


def test_passwords_secrets_and_tokens_are_masked_in_key_value_text():
    text = mask('{"password": "hunter2", "secret": "abc", "token=xyz&x=1"}')
    assert "hunter2" not in text and "abc" not in text and "xyz" not in text
    assert text.count("****") == 3


def test_a_password_in_a_url_is_masked_but_the_host_stays():
    assert mask("postgresql://app:pa55@db.local:5432/x") == "postgresql://app:****@db.local:5432/x"


def test_text_without_secrets_is_left_alone():
    assert mask("ENR-SYNC instance faulted: derms unreachable") == (
        "ENR-SYNC instance faulted: derms unreachable"
    )


def test_log_records_are_json_lines_with_secrets_masked():
    record = logging.LogRecord(
        "derlink",
        logging.ERROR,
        __file__,
        1,
        "calling %s with Authorization: Bearer hub.topsecret",
        ("cpm",),
        None,
    )
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert entry["level"] == "error"
    assert "topsecret" not in line
    assert entry["msg"] == "calling cpm with Authorization: Bearer ****"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("calling cpm with Bearer abc.def", "abc.def"),
        ("header was 'Bearer hub.Zx-9_q~' and failed", "hub.Zx-9_q~"),
        ("sent Basic dXNlcjpwYXNz to the SMTP relay", "dXNlcjpwYXNz"),
        ("s3://AKIAEXAMPLE:wJalr/XUtnF+EMI/K7MDENG@bucket/prefix", "wJalr/XUtnF+EMI/K7MDENG"),
        ("s3://AKIAEXAMPLE:wJalr%2FXUtn+EMI@bucket", "wJalr%2FXUtn+EMI"),
        ("aws_secret_access_key=wJalr/XUtnF+EMI/K7MDENG", "wJalr/XUtnF+EMI/K7MDENG"),
        ('{"SecretAccessKey": "wJalr/XUtnF+EMI/K7MDENG"}', "wJalr/XUtnF+EMI/K7MDENG"),
    ],
)
def test_bare_credentials_and_s3_secrets_are_masked(text: str, secret: str):
    masked = mask(text)
    assert secret not in masked
    assert "****" in masked


def test_the_word_basic_alone_is_not_a_credential():
    text = "Basic validation of the header failed; basic checks passed"
    assert mask(text) == text


def test_masking_keeps_json_text_parseable():
    text = orjson.dumps(
        {"auth": "Bearer abc.def", "url": "s3://AK:se/cr+et@bucket", "password": 'a"b'}
    ).decode()
    assert orjson.loads(mask(text))["auth"] == "Bearer ****"


def test_a_secret_in_an_exception_is_masked_in_the_json_line():
    try:
        raise RuntimeError("refused s3://AKIAEXAMPLE:wJalr/XUtn+EMI@b with Basic dXNlcjpwYXNz")
    except RuntimeError:
        record = logging.LogRecord(
            "derlink", logging.ERROR, __file__, 1, "upload failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = orjson.loads(line)
    assert "RuntimeError" in entry["exc"]
    assert "wJalr/XUtn+EMI" not in line and "dXNlcjpwYXNz" not in line
