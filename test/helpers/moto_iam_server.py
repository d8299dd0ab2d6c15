"""moto_server with two fixes for IAM-enforced tests (arguments as moto_server's):
- moto recomputes a request's SigV4 signature from the URL as its web framework
  hands it over, where "/" and ":" in query values arrive decoded
  (prefix=proj/), so every S3 list with a prefix failed with
  SignatureDoesNotMatch: the query is re-encoded as SigV4's canonical form
  expects before moto compares signatures;
- moto names some actions in lower case (Batch: "batch:describejobs") and
  matches Action elements case-sensitively; IAM documents action names as
  case-insensitive, so they are compared that way."""
import sys
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from moto.iam import access_control
from moto.server import main

_create = access_control.IAMRequestBase._create_aws_request


def _create_with_encoded_query(self):
    request = _create(self)
    parts = urlsplit(request.url)
    if parts.query:
        pairs = [pair.partition("=") for pair in parts.query.split("&")]
        query = "&".join(f"{quote(unquote(key), safe='-_.~')}={quote(unquote(value), safe='-_.~')}" for key, _, value in pairs)
        request.url = urlunsplit(parts._replace(query=query))
    return request


access_control.IAMRequestBase._create_aws_request = _create_with_encoded_query

_matches = access_control.IAMPolicyStatement._check_element_matches


def _matches_actions_case_insensitively(self, element, value):
    if element not in ("Action", "NotAction"):
        return _matches(self, element, value)
    patterns = self._statement[element]
    patterns = patterns if isinstance(patterns, list) else [patterns]
    return any(self._match(pattern.lower(), value.lower()) for pattern in patterns)


access_control.IAMPolicyStatement._check_element_matches = _matches_actions_case_insensitively

if __name__ == "__main__":
    main(sys.argv[1:])
