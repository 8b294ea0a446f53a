#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/json_line.h"

static const char doc[] =
	"\n"                                   /* 1 */
	"  {\n"                                /* 2 */
	"    \"a\": 1,\n"                      /* 3 */
	"    \"s\": \"x, ] } { \\\" [\",\n"    /* 4: delimiters inside a string */
	"    \"list\": [\n"                    /* 5 */
	"      {\"k\": true},\n"               /* 6 */
	"      [1, 2,\n"                       /* 7 */
	"       3],\n"                         /* 8 */
	"      {\"name\": \"b\",\n"            /* 9 */
	"       \"deep\": {\"x\":\n"           /* 10 */
	"          -1.5e3}}\n"                 /* 11 */
	"    ],\n"                             /* 12 */
	"    \"na\\u006de\": \"escaped key\",\n" /* 13 */
	"    \"split\"\n"                      /* 14 */
	"      :\n"                            /* 15 */
	"      null\n"                         /* 16 */
	"  }\n";                               /* 17 */

static unsigned line(const struct json_step *path, unsigned depth, bool at_key)
{
	return json_line_of(doc, strlen(doc), path, depth, at_key);
}

static void root_and_members(void **state)
{
	(void)state;
	assert_int_equal(line(NULL, 0, false), 2);
	assert_int_equal(line((struct json_step[]){ { .key = "a" } }, 1, false), 3);
	assert_int_equal(line((struct json_step[]){ { .key = "s" } }, 1, false), 4);
	/* the string on line 4 holds brackets and an escaped quote: skipped whole */
	assert_int_equal(line((struct json_step[]){ { .key = "list" } }, 1, false), 5);
	assert_int_equal(line((struct json_step[]){ { .key = "name" } }, 1, false), 13);
}

static void array_elements_and_nesting(void **state)
{
	(void)state;
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 0 } }, 2, false), 6);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 1 } }, 2, false), 7);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 1 }, { .index = 2 } }, 3, false), 8);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 2 }, { .key = "name" } }, 3, false), 9);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 2 }, { .key = "deep" }, { .key = "x" } },
			      4, false),
			 11);
}

static void key_line_differs_from_value_line(void **state)
{
	(void)state;
	assert_int_equal(line((struct json_step[]){ { .key = "split" } }, 1, false), 16);
	assert_int_equal(line((struct json_step[]){ { .key = "split" } }, 1, true), 14);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 2 }, { .key = "deep" }, { .key = "x" } },
			      4, true),
			 10);
}

static void missing_steps_fall_back_to_the_deepest_value(void **state)
{
	(void)state;
	/* no such key: the object it was looked for in */
	assert_int_equal(line((struct json_step[]){ { .key = "nope" } }, 1, false), 2);
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 2 }, { .key = "nope" } }, 3, true), 9);
	/* index past the end: the array */
	assert_int_equal(line((struct json_step[]){ { .key = "list" }, { .index = 7 } }, 2, false), 5);
	/* an index into an object, a key into a number: the value reached */
	assert_int_equal(line((struct json_step[]){ { .index = 0 } }, 1, false), 2);
	assert_int_equal(line((struct json_step[]){ { .key = "a" }, { .key = "b" } }, 2, false), 3);
}

static void truncated_text_stops_safely(void **state)
{
	static const char *const cuts[] = { "", "   ", "{", "{\"a\"", "{\"a\":", "{\"a\": [1,", "{\"a\": \"x\\",
					    "[\"\\u12", "{\"q\\u00" };

	(void)state;
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		unsigned l = json_line_of(cuts[i], strlen(cuts[i]),
					  (struct json_step[]){ { .key = "a" }, { .index = 3 } }, 2, false);

		assert_int_equal(l, 1);
	}
	assert_int_equal(json_line_of(NULL, 0, NULL, 0, false), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_and_members),
		cmocka_unit_test(array_elements_and_nesting),
		cmocka_unit_test(key_line_differs_from_value_line),
		cmocka_unit_test(missing_steps_fall_back_to_the_deepest_value),
		cmocka_unit_test(truncated_text_stops_safely),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
