#include "json_read.h"

static JsonNode *member_node(JsonObject *o, const char *member)
{
    return o && json_object_has_member(o, member) ? json_object_get_member(o, member) : NULL;
}

JsonObject *ps_json_object(JsonObject *o, const char *member)
{
    JsonNode *n = member_node(o, member);
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

JsonArray *ps_json_array(JsonObject *o, const char *member)
{
    JsonNode *n = member_node(o, member);
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

JsonObject *ps_json_object_at(JsonArray *a, guint i)
{
    JsonNode *n = a && i < json_array_get_length(a) ? json_array_get_element(a, i) : NULL;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

const char *ps_json_string(JsonObject *o, const char *member, const char *fallback)
{
    JsonNode *n = member_node(o, member);
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
               ? json_node_get_string(n)
               : fallback;
}
