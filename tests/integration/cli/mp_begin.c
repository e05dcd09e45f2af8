/*
 * Test helper for test_cli.sh: starts a multipart upload through the public uplink API (the CLI
 * has no multipart command) so `tessera ls --pending` has something to list.
 *   usage: cli_mp_begin GRANT BUCKET KEY     prints the upload ID on stdout
 */
#include <stdio.h>

#include "tessera/uplink.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: cli_mp_begin GRANT BUCKET KEY\n");
        return 2;
    }
    struct ul_access *access = NULL;
    struct ul_project *project = NULL;
    char *upload_id = NULL;
    ul_err err = ul_access_parse(argv[1], &access);
    if (err == UL_OK) {
        err = ul_project_open(access, NULL, &project);
    }
    if (err == UL_OK) {
        err = ul_multipart_begin(project, argv[2], argv[3], NULL, &upload_id);
    }
    if (err == UL_OK) {
        printf("%s\n", upload_id);
    } else {
        fprintf(stderr, "cli_mp_begin: %s (%s)\n", ul_strerror(err), ul_error_detail());
    }
    ul_free(upload_id);
    ul_project_close(project);
    ul_access_free(access);
    return err == UL_OK ? 0 : 1;
}
