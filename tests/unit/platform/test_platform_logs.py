import logging

import orjson

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
