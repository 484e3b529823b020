/* test_luajson.c -- JSON <-> Lua values (luajson.c). */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "json_swar.h"
#include "luajson.h"
#include "testlib.h"

static lua_State *L;

/* Runs a Lua chunk (json is loaded) and returns its string result, or
 * "ERROR: <message>" when it raised. */
static const char *lua(const char *src)
{
    static char out[4096];
    if (luaL_dostring(L, src) != LUA_OK) {
        snprintf(out, sizeof out, "ERROR: %s", lua_tostring(L, -1));
    } else {
        snprintf(out, sizeof out, "%s", luaL_tolstring(L, -1, NULL));
        lua_pop(L, 1);
    }
    lua_settop(L, 0);
    return out;
}

/* json.encode(json.decode(text)) */
static const char *roundtrip(const char *text)
{
    lua_getglobal(L, "roundtrip");
    lua_pushstring(L, text);
    static char out[4096];
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) snprintf(out, sizeof out, "ERROR: %s", lua_tostring(L, -1));
    else snprintf(out, sizeof out, "%s", lua_tostring(L, -1));
    lua_settop(L, 0);
    return out;
}

static void test_roundtrip(void)
{
    CHECK_STR(roundtrip("{}"), "{}");
    CHECK_STR(roundtrip("[]"), "[]");
    CHECK_STR(roundtrip("[1,2,3]"), "[1,2,3]");
    CHECK_STR(roundtrip(" { \"b\" : 1 , \"a\" : [ true , false ] } "), "{\"a\":[true,false],\"b\":1}");
    CHECK_STR(roundtrip("{\"x\":{\"y\":{\"z\":[[],{},[{}]]}}}"), "{\"x\":{\"y\":{\"z\":[[],{},[{}]]}}}");
    CHECK_STR(roundtrip("\"just a string\""), "\"just a string\"");
    CHECK_STR(roundtrip("42"), "42");
    CHECK_STR(roundtrip("true"), "true");
    CHECK_STR(roundtrip("[\"a\",{\"k\":\"v\"},3,2.5]"), "[\"a\",{\"k\":\"v\"},3,2.5]");
    /* empty arrays stay arrays, empty objects stay objects, at any depth */
    CHECK_STR(roundtrip("{\"list\":[],\"obj\":{}}"), "{\"list\":[],\"obj\":{}}");
    /* duplicate keys: the last wins */
    CHECK_STR(roundtrip("{\"a\":1,\"a\":2}"), "{\"a\":2}");
}

static void test_sorted_keys(void)
{
    CHECK_STR(lua("return json.encode({ zeta = 1, alpha = 2, Beta = 3, ['a b'] = 4, _x = 5 })"),
              "{\"Beta\":3,\"_x\":5,\"a b\":4,\"alpha\":2,\"zeta\":1}");
    /* byte order, and a prefix sorts first */
    CHECK_STR(lua("return json.encode({ ab = 1, a = 2, abc = 3, b = 4 })"), "{\"a\":2,\"ab\":1,\"abc\":3,\"b\":4}");
    /* more members than the encoder's small stack array */
    CHECK_STR(lua("local t = {} for i = 1, 100 do t[('k%03d'):format(101 - i)] = i end "
                  "local s = json.encode(t) "
                  "return s:sub(1, 21) .. '|' .. s:sub(-9) .. '|' .. select(2, s:gsub(':', ''))"),
              "{\"k001\":100,\"k002\":99|\"k100\":1}|100");
    /* the empty key first, then a NUL, then bytes as unsigned ("\xc3" after "a") */
    CHECK_STR(lua("return json.encode({ ['\\xc3\\xa9'] = 1, a = 2, ['\\0'] = 3, [''] = 4 })"),
              "{\"\":4,\"\\u0000\":3,\"a\":2,\"\xc3\xa9\":1}");
    /* keys that are not strings are written with tostring */
    CHECK_STR(lua("return json.encode({ [1] = 'a', x = 'b' })"), "{\"1\":\"a\",\"x\":\"b\"}");
    CHECK_STR(lua("return json.encode({ [2] = 'b', [3] = 'c' })"), "{\"2\":\"b\",\"3\":\"c\"}");
    CHECK_STR(lua("return json.encode({ [true] = 1, [1.5] = 2 })"), "{\"1.5\":2,\"true\":1}");
}

static void test_arrays_vs_objects(void)
{
    CHECK_STR(lua("return json.encode({})"), "{}");
    CHECK_STR(lua("return json.encode(json.array())"), "[]");
    CHECK_STR(lua("return json.encode(json.array({}))"), "[]");
    CHECK_STR(lua("return json.encode({ 'a', 'b' })"), "[\"a\",\"b\"]");
    CHECK_STR(lua("local t = json.array({1, 2}) return tostring(json.array(t) == t)"), "true");
    /* a marked array writes only 1..#t */
    CHECK_STR(lua("local t = json.array({1, 2}) t.extra = 'x' return json.encode(t)"), "[1,2]");
    /* a hole makes it an object */
    CHECK_STR(lua("return json.encode({ [1] = 'a', [3] = 'c' })"), "{\"1\":\"a\",\"3\":\"c\"}");
    CHECK_STR(lua("return json.encode({ 'a', n = 1 })"), "{\"1\":\"a\",\"n\":1}");
    /* decoded arrays carry the array metatable, so empty ones survive */
    CHECK_STR(lua("local t = json.decode('[]') return tostring(getmetatable(t) == getmetatable(json.array()))"),
              "true");
    CHECK_STR(lua("local t = json.decode('{}') return tostring(getmetatable(t))"), "nil");
    CHECK_STR(lua("local t = json.decode('{\"a\":[1,2]}') return #t.a .. ' ' .. t.a[2]"), "2 2");

    /* the C side */
    luajson_new_array(L, 4);
    CHECK(luajson_is_array(L, -1), "luajson_new_array is an array");
    lua_newtable(L);
    CHECK(!luajson_is_array(L, -1), "a plain table is not");
    luajson_mark_array(L, -1);
    CHECK(luajson_is_array(L, -1), "marked");
    lua_pushinteger(L, 1);
    CHECK(!luajson_is_array(L, -1), "a number is not");
    lua_settop(L, 0);
}

static void test_strings(void)
{
    /* escapes on the way out */
    CHECK_STR(lua("return json.encode('q\"b\\\\s/n\\nr\\rt\\tb\\bf\\f')"),
              "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\"");
    CHECK_STR(lua("return json.encode('\\1\\31\\127')"), "\"\\u0001\\u001f\x7f\"");
    CHECK_STR(lua("return json.encode('caf\\u{e9} \\u{1F600}')"), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    CHECK_STR(lua("return json.encode('')"), "\"\"");
    /* unicode escapes on the way in */
    CHECK_STR(lua("return json.decode('\"caf\\\\u00e9\"')"), "caf\xc3\xa9");
    CHECK_STR(lua("return json.decode('\"\\\\ud83d\\\\ude00\"')"), "\xf0\x9f\x98\x80");
    CHECK_STR(lua("return json.decode('\"\\\\u0041\\\\n\\\\t\\\\\"\\\\/\"')"), "A\n\t\"/");
    /* round trip of every byte 1..255 */
    CHECK_STR(lua("local s = {} for i = 1, 255 do s[#s + 1] = string.char(i) end s = table.concat(s) "
                  "return tostring(json.decode(json.encode(s)) == s)"),
              "true");
    /* a string with an embedded NUL is encoded whole */
    CHECK_STR(lua("return json.encode('a\\0b')"), "\"a\\u0000b\"");
    /* strings are scanned 8 bytes at a time: a character to escape at every
     * position of strings of 0 to 40 bytes, and strings with none, encode as
     * they do one byte at a time (the same string built with gsub) */
    CHECK_STR(lua("local bad = 0 "
                  "local function slow(s) return '\"' .. s:gsub('[%c\"\\\\]', function(c) "
                  "  local named = { ['\"'] = '\\\\\"', ['\\\\'] = '\\\\\\\\', ['\\n'] = '\\\\n', ['\\r'] = '\\\\r', "
                  "    ['\\t'] = '\\\\t', ['\\b'] = '\\\\b', ['\\f'] = '\\\\f' } "
                  "  if c:byte() == 127 then return c end "
                  "  return named[c] or ('\\\\u%04x'):format(c:byte()) end) .. '\"' end "
                  "for n = 0, 40 do "
                  "  local plain = ('abcdefghij\\195\\169klmnop~!#[]'):rep(3):sub(1, n) "
                  "  if json.encode(plain) ~= slow(plain) then bad = bad + 1 end "
                  "  for at = 1, n do for _, c in ipairs({ '\"', '\\\\', '\\n', '\\1', '\\31', '\\0' }) do "
                  "    local s = plain:sub(1, at - 1) .. c .. plain:sub(at + 1) "
                  "    if json.encode(s) ~= slow(s) then bad = bad + 1 end "
                  "  end end "
                  "end return bad"),
              "0");
}

static void test_numbers(void)
{
    CHECK_STR(lua("return json.encode(1)"), "1");
    CHECK_STR(lua("return json.encode(1.0)"), "1.0");
    CHECK_STR(lua("return json.encode(-3.0)"), "-3.0");
    CHECK_STR(lua("return json.encode(-0.0)"), "-0.0");
    CHECK_STR(lua("return json.encode(0.0)"), "0.0");
    CHECK_STR(lua("return json.encode(999999999999999.0)"), "999999999999999.0");
    CHECK_STR(lua("return json.encode(-999999999999999.0)"), "-999999999999999.0");
    CHECK_STR(lua("return json.encode(-42)"), "-42");
    CHECK_STR(lua("return json.encode(0)"), "0");
    CHECK_STR(lua("return json.encode(0.5)"), "0.5");
    CHECK_STR(lua("return json.encode(0.1)"), "0.1");
    CHECK_STR(lua("return json.encode(1/3)"), "0.3333333333333333");
    CHECK_STR(lua("return json.encode(-2.25e-8)"), "-2.25e-08");
    CHECK_STR(lua("return json.encode(1e300)"), "1e+300");
    CHECK_STR(lua("return json.encode(math.maxinteger)"), "9223372036854775807");
    CHECK_STR(lua("return json.encode(math.mininteger)"), "-9223372036854775808");
    CHECK_STR(lua("return json.encode(2^53)"), "9007199254740992");   /* a float past 1e15 */
    /* every float reads back as the same double */
    CHECK_STR(lua("for _, x in ipairs({0.1, 1/3, 2/3, 1e-300, 123456.789, 5e-324, 1.7976931348623157e308}) do "
                  "  if json.decode(json.encode(x)) ~= x then return 'lost ' .. x end end return 'ok'"),
              "ok");

    /* decoding: integral values within 2^53 are integers, others floats */
    CHECK_STR(lua("return math.type(json.decode('1'))"), "integer");
    CHECK_STR(lua("return math.type(json.decode('1.0'))"), "integer");
    CHECK_STR(lua("return math.type(json.decode('-7'))"), "integer");
    CHECK_STR(lua("return math.type(json.decode('1.5'))"), "float");
    CHECK_STR(lua("return math.type(json.decode('1e3'))"), "integer");
    CHECK_STR(lua("return json.decode('9007199254740991')"), "9007199254740991");
    CHECK_STR(lua("return math.type(json.decode('9007199254740991'))"), "integer");
    CHECK_STR(lua("return math.type(json.decode('-9007199254740991'))"), "integer");
    CHECK_STR(lua("return math.type(json.decode('9007199254740992'))"), "float");
    CHECK_STR(lua("return math.type(json.decode('12345678901234567890'))"), "float");
    CHECK_STR(roundtrip("[0,-0,1.25,-1e-5,1e21]"), "[0,0,1.25,-1e-05,1e+21]");

    /* NaN and infinities are refused */
    CHECK(strstr(lua("return json.encode(0/0)"), "ERROR:") != NULL, "NaN refused");
    CHECK(strstr(lua("return json.encode({ x = math.huge })"), "NaN or infinity") != NULL, "inf refused");
    CHECK(strstr(lua("return json.encode({ -math.huge })"), "cannot encode as JSON") != NULL, "-inf refused");
}

static void test_refused_values(void)
{
    CHECK(strstr(lua("local t = {} t.self = t return json.encode(t)"), "nested too deep") != NULL,
          "object cycle is an error");
    CHECK(strstr(lua("local t = json.array() t[1] = t return json.encode(t)"), "nested too deep") != NULL,
          "array cycle is an error");
    CHECK(strstr(lua("local a, b = {}, {} a.b = b b.a = a return json.encode({ a })"), "ERROR:") != NULL,
          "indirect cycle is an error");
    /* deep but acyclic nesting is fine up to the limit */
    CHECK_STR(lua("local t = {} local c = t for i = 1, 150 do c.x = {} c = c.x end "
                  "return #json.encode(t)"), "902");   /* 150 x {"x":...} around {} */
    CHECK(strstr(lua("return json.encode({ f = print })"), "function") != NULL, "function refused");
    CHECK(strstr(lua("return json.encode(coroutine.create(print))"), "thread") != NULL, "thread refused");
    CHECK(strstr(lua("return json.encode({ io.stdout })"), "ERROR:") != NULL, "full userdata refused");
    /* after an error the encoder leaves the state usable */
    CHECK_STR(lua("pcall(json.encode, { 0/0 }) return json.encode({ ok = true })"), "{\"ok\":true}");

    /* the C API reports errors without raising, and restores the stack */
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "me");
    int top = lua_gettop(L);
    buf out = {0};
    char err[128] = "";
    CHECK(luajson_encode(L, -1, &out, 0, err, sizeof err) == -1, "C encode of a cycle fails");
    CHECK(strstr(err, "cannot encode as JSON") != NULL, "err: %s", err);
    CHECK(lua_gettop(L) == top, "stack restored");
    buf_free(&out);
    lua_settop(L, 0);
}

static void test_null(void)
{
    /* without keep_null, object members with null are dropped ... */
    CHECK_STR(roundtrip("{\"a\":null,\"b\":1}"), "{\"b\":1}");
    /* ... but nulls inside arrays keep their place */
    CHECK_STR(roundtrip("[1,null,3]"), "[1,null,3]");
    CHECK_STR(roundtrip("null"), "null");
    CHECK_STR(lua("return tostring(json.decode('null') == json.null)"), "true");
    CHECK_STR(lua("return tostring(json.decode('[null]')[1] == json.null)"), "true");
    /* with keep_null, object members keep json.null */
    CHECK_STR(lua("local t = json.decode('{\"a\":null}', true) return tostring(t.a == json.null)"), "true");
    CHECK_STR(lua("return json.encode(json.decode('{\"a\":null,\"b\":[null]}', true))"),
              "{\"a\":null,\"b\":[null]}");
    CHECK_STR(lua("return json.encode({ json.null, 2 })"), "[null,2]");
    CHECK_STR(lua("return json.encode(nil)"), "null");

    /* the C API */
    char err[64];
    CHECK(luajson_decode(L, "{\"a\":null}", 10, 1, err, sizeof err) == 0, "decode keep_null");
    lua_getfield(L, -1, "a");
    luajson_push_null(L);
    CHECK(lua_rawequal(L, -1, -2), "keep_null gives LUAJSON_NULL");
    lua_settop(L, 0);
    CHECK(luajson_decode(L, "{\"a\":null}", 10, 0, err, sizeof err) == 0, "decode without keep_null");
    CHECK(lua_getfield(L, -1, "a") == LUA_TNIL, "member dropped");
    lua_settop(L, 0);
}

static void test_pretty(void)
{
    CHECK_STR(lua("return json.encode({ b = { 1, 2 }, a = 'x' }, 2)"),
              "{\n  \"a\": \"x\",\n  \"b\": [\n    1,\n    2\n  ]\n}");
    CHECK_STR(lua("return json.encode({ o = {}, l = json.array() }, 4)"), "{\n    \"l\": [],\n    \"o\": {}\n}");
    CHECK_STR(lua("return json.encode({ { x = 1 } }, 1)"), "[\n {\n  \"x\": 1\n }\n]");
    CHECK_STR(lua("return json.encode(5, 2)"), "5");
    CHECK_STR(lua("return json.encode({ a = { b = 1 } }, 0)"), "{\"a\":{\"b\":1}}");
    /* pretty output decodes to the same value */
    CHECK_STR(lua("local s = json.encode({ a = { 1, { b = 'c' } }, d = json.array() }, 3) "
                  "return json.encode(json.decode(s))"),
              "{\"a\":[1,{\"b\":\"c\"}],\"d\":[]}");
}

static void test_invalid(void)
{
    char err[128];
    static const char *bad[] = { "", "   ", "{", "[1,2", "{\"a\":tru}", "{\"a\" 1}", "[1,]x", "\"open",
                                 "{} garbage", "[1] [2]", "nul", "{'a':1}" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        int top = lua_gettop(L);
        CHECK(luajson_decode(L, bad[i], strlen(bad[i]), 0, err, sizeof err) == -1, "'%s' refused", bad[i]);
        CHECK(lua_gettop(L) == top, "'%s': nothing pushed", bad[i]);
        CHECK(strstr(err, "invalid JSON at byte") != NULL, "'%s': %s", bad[i], err);
    }
    luajson_decode(L, "{\"a\":tru}", 9, 0, err, sizeof err);
    CHECK_STR(err, "invalid JSON at byte 5 of 9");
    luajson_decode(L, "{} garbage", 10, 0, err, sizeof err);
    CHECK_STR(err, "invalid JSON at byte 3 of 10");
    /* trailing whitespace is fine; the length bounds the text */
    CHECK(luajson_decode(L, "[1] \n\t", 6, 0, err, sizeof err) == 0, "trailing whitespace");
    CHECK(luajson_decode(L, "[1]XYZ", 3, 0, err, sizeof err) == 0, "only len bytes are read");
    lua_settop(L, 0);
    /* json.decode raises with the message */
    CHECK(strstr(lua("return json.decode('[1,')"), "invalid JSON at byte") != NULL, "json.decode raises");
    CHECK(strstr(lua("return json.decode({})"), "string expected") != NULL, "json.decode wants a string");
}

/* json_plain_len (json_swar.h), which the encoder and the JSON reader use,
 * against a byte at a time: every length to 40, with each special byte at
 * each position, and bytes past ASCII (not special) around it. The string
 * is copied into a block of exactly its size, so that AddressSanitizer sees
 * a read past its end. */
static size_t plain_len_bytewise(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

static void test_plain_len(void)
{
    static const char specials[] = { '"', '\\', '\n', '\0', 0x1f };
    int bad = 0, cases = 0;
    for (size_t n = 0; n <= 40; n++) {
        for (size_t at = 0; at <= n; at++) {            /* at == n: no special */
            for (size_t k = 0; k < sizeof specials; k++) {
                char *s = malloc(n ? n : 1);
                for (size_t i = 0; i < n; i++) s[i] = (char)(i % 3 == 0 ? 0xc3 : 'a' + i % 26);
                if (at < n) s[at] = specials[k];
                if (json_plain_len(s, n) != plain_len_bytewise(s, n)) bad++;
                cases++;
                free(s);
                if (at == n) break;
            }
        }
    }
    CHECK(bad == 0, "json_plain_len agrees with a byte-at-a-time scan in %d of %d cases", cases - bad, cases);
    CHECK(json_plain_len("abc\x20", 4) == 4, "a space is plain");
    CHECK(json_plain_len("abcdefg\x7f", 8) == 8, "DEL is plain in JSON");
}

int main(void)
{
    L = luaL_newstate();
    luaL_openlibs(L);
    luajson_open(L);
    if (luaL_dostring(L, "function roundtrip(s) return json.encode(json.decode(s)) end") != LUA_OK) return 2;
    test_roundtrip();
    test_sorted_keys();
    test_arrays_vs_objects();
    test_strings();
    test_numbers();
    test_refused_values();
    test_null();
    test_pretty();
    test_invalid();
    test_plain_len();
    lua_close(L);
    return test_summary();
}
