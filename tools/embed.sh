#!/bin/sh
# embed.sh NAME FILE -- prints a C file that defines the bytes of FILE as
#   const char NAME[]  (NUL-terminated)  and  const size_t NAME_len
# Used to compile core/*.lua into the binary (core/embedded.h declares them).
name=$1
file=$2
echo "/* generated from $file by tools/embed.sh: do not edit */"
echo "#include <stddef.h>"
echo "extern const char ${name}[];"
echo "extern const size_t ${name}_len;"
echo "const char ${name}[] = {"
od -An -v -tx1 "$file" | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0x00 };"
echo "const size_t ${name}_len = sizeof ${name} - 1;"
