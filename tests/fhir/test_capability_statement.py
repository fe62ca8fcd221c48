"""The CapabilityStatement is valid FHIR: no empty string anywhere (FHIR forbids them), and
every search parameter says what it matches, which is what a client's developer reads."""


def _empty_strings(value, path="CapabilityStatement"):
    if isinstance(value, str):
        return [path] if not value.strip() else []
    if isinstance(value, dict):
        return [
            found for key, item in value.items() for found in _empty_strings(item, f"{path}.{key}")
        ]
    if isinstance(value, list):
        return [
            found for i, item in enumerate(value) for found in _empty_strings(item, f"{path}[{i}]")
        ]
    return []


def test_no_element_of_the_capability_statement_is_an_empty_string(gp_software):
    body = gp_software.get("metadata").json()
    assert body["resourceType"] == "CapabilityStatement"
    assert _empty_strings(body) == []


def test_every_search_parameter_is_documented(gp_software):
    body = gp_software.get("metadata").json()
    for resource in body["rest"][0]["resource"]:
        for param in resource.get("searchParam", []):
            assert param.get("documentation", "").strip(), (resource["type"], param["name"])
