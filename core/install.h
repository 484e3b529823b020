/* install.h -- what `awstopo install` (cmd_install.c) and its organization
 * path (cmd_install_org.c) share. */
#ifndef AWSTOPO_INSTALL_H
#define AWSTOPO_INSTALL_H

#include <stddef.h>

/* The directory of the CloudFormation templates: deploy/cloudformation of the
 * data directory, or cloudformation/ next to it (the dist zip). Static storage. */
const char *install_templates_dir(void);

/* The Lambda package: build/awstopo-lambda-x86_64.zip of the data directory, or
 * awstopo-lambda-x86_64.zip next to it (the dist zip). Static storage. */
const char *install_package_path(void);

/* deploy/cloudformation/<stack>.json of dir as compact JSON (caller frees), or
 * NULL with err (unreadable, not JSON, over the 51,200-byte TemplateBody limit). */
char *install_template(const char *dir, const char *stack, char *err, size_t errlen);

/* CONFIGURATION_ID and BASE_URL as both install paths take them (they name
 * stacks, StackSets and parameters); 0 after a cli_error saying which is
 * wrong, 1 when they are fine. base_url may be NULL (not given). */
int install_check_ids(const char *config_id, const char *base_url);

/* `awstopo install --organization` / `uninstall --organization` (argv as the
 * command got it): the stackstate-topo-role StackSet. Returns an exit code. */
int install_organization(int argc, char **argv, int uninstall);

#endif
