/* Reading JSON that came from a file (summaries, run results): typed
 * members that are NULL, or a fallback, when the file holds something else.
 * Result files are input, and input never crashes or warns. */
#ifndef PS_JSON_READ_H
#define PS_JSON_READ_H

#include <json-glib/json-glib.h>

JsonObject *ps_json_object(JsonObject *o, const char *member);
JsonArray *ps_json_array(JsonObject *o, const char *member);
JsonObject *ps_json_object_at(JsonArray *a, guint i);
const char *ps_json_string(JsonObject *o, const char *member, const char *fallback);

#endif
