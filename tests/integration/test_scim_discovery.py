"""SCIM discovery (RFC 7644 §4): ServiceProviderConfig, ResourceTypes and Schemas announce
what latchkey really does, in SCIM's media type, behind the SCIM token; other paths under
/scim/v2 answer SCIM errors — on the real app."""

from __future__ import annotations

from scim2_models import ResourceType, Schema, ServiceProviderConfig

from tests.scim_users_support import SCIM_JSON, directory, scim_error

BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


async def get(client, headers, path):
    response = await client.get(f"{BASE}{path}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    return response.json()


async def test_service_provider_config_announces_what_we_do(client, person, clock):
    d = await directory(client, person, clock)
    body = await get(client, d.headers, "/ServiceProviderConfig")
    config = ServiceProviderConfig.model_validate(body)  # a valid SCIM document
    assert config.patch.supported is True
    assert config.bulk.supported is False
    assert config.filter.supported is True and config.filter.max_results == 200
    assert config.change_password.supported is False
    assert config.sort.supported is False
    assert config.etag.supported is True
    [scheme] = body["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    assert body["meta"] == {"resourceType": "ServiceProviderConfig",
                            "location": "http://testserver/scim/v2/ServiceProviderConfig"}


async def test_resource_types_are_users_and_groups(client, person, clock):
    d = await directory(client, person, clock)
    body = await get(client, d.headers, "/ResourceTypes")
    assert body["schemas"] == [LIST] and body["totalResults"] == 2
    by_name = {r["name"]: r for r in body["Resources"]}
    assert set(by_name) == {"User", "Group"}
    assert by_name["User"]["endpoint"] == "/Users" and by_name["User"]["schema"] == USER
    assert by_name["User"]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert by_name["Group"]["endpoint"] == "/Groups" and by_name["Group"]["schema"] == GROUP
    for resource in body["Resources"]:
        ResourceType.model_validate(resource)
        one = await get(client, d.headers, f"/ResourceTypes/{resource['id']}")
        assert one == resource
        assert one["meta"]["location"] == f"http://testserver{BASE}/ResourceTypes/{one['id']}"
    scim_error(await client.get(f"{BASE}/ResourceTypes/Pet", headers=d.headers), 404)


async def test_schemas_list_the_attributes_we_serve(client, person, clock):
    d = await directory(client, person, clock)
    body = await get(client, d.headers, "/Schemas")
    ids = [s["id"] for s in body["Resources"]]
    assert sorted(ids) == sorted([USER, ENTERPRISE, GROUP]) and body["totalResults"] == 3
    for schema in body["Resources"]:
        Schema.model_validate(schema)
        assert await get(client, d.headers, f"/Schemas/{schema['id']}") == schema
        assert schema["meta"]["resourceType"] == "Schema"
    user = {a["name"]: a for a in (await get(client, d.headers, f"/Schemas/{USER}"))["attributes"]}
    # password is never stored, groups are read through /Groups
    assert "password" not in user and "groups" not in user
    assert {"userName", "name", "displayName", "emails", "phoneNumbers", "active"} <= set(user)
    assert user["userName"]["required"] is True and user["userName"]["uniqueness"] == "server"
    assert user["emails"]["required"] is True  # an account is reached by its address
    emails = {s["name"]: s for s in user["emails"]["subAttributes"]}
    assert emails["value"]["required"] is True and "display" not in emails
    assert emails["type"]["mutability"] == "readOnly"
    phones = {s["name"]: s for s in user["phoneNumbers"]["subAttributes"]}
    assert set(phones) == {"value", "type"}
    group = {a["name"]: a for a in
             (await get(client, d.headers, f"/Schemas/{GROUP}"))["attributes"]}
    assert set(group) == {"displayName", "members"}
    members = {s["name"]: s["mutability"] for s in group["members"]["subAttributes"]}
    assert members == {"value": "immutable", "$ref": "immutable", "type": "immutable",
                       "display": "readOnly"}
    scim_error(await client.get(f"{BASE}/Schemas/urn:nope", headers=d.headers), 404)


async def test_discovery_needs_the_token_and_only_get(client, person, clock):
    d = await directory(client, person, clock)
    for path in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        scim_error(await client.get(f"{BASE}{path}"), 401)
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            refused = await client.request(method, f"{BASE}{path}", headers=d.headers)
            scim_error(refused, 405)
            assert refused.headers["allow"] == "GET"
    scim_error(await client.put(f"{BASE}/Groups", headers=d.headers, json={}), 405)
    scim_error(await client.post(f"{BASE}/Groups/x", headers=d.headers, json={}), 405)


async def test_other_paths_answer_scim_errors(client, person, clock):
    d = await directory(client, person, clock)
    scim_error(await client.get(f"{BASE}/Pets", headers=d.headers), 404)
    scim_error(await client.post(f"{BASE}/Pets/1/x", headers=d.headers, json={}), 404)
    scim_error(await client.get(f"{BASE}/Pets"), 401)  # nothing is learnt without a token
    # searching several resource types at once (RFC 7644 §3.4.3) is not implemented
    scim_error(await client.post(f"{BASE}/.search", headers=d.headers, json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}), 501)
    # the resource endpoints still win over the catch-all
    assert (await client.get(f"{BASE}/Users", headers=d.headers)).status_code == 200
    assert (await client.get(f"{BASE}/Groups", headers=d.headers)).status_code == 200
