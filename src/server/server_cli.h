/* mapiserver's administration subcommands (useradd, userdel, passwd, list,
 * import) over the store named by the configuration file. */
#ifndef MP_SERVER_SERVER_CLI_H
#define MP_SERVER_SERVER_CLI_H

#include <stdbool.h>
#include <stdio.h>

/* Is `arg` (argv[1]) one of the subcommands? */
bool mp_server_cli_is_subcommand(const char *arg);
/* Run a subcommand: argv[0] is the subcommand. Exit code: 0 ok, 1 failed,
 * 2 usage error. */
int mp_server_cli_main(int argc, char **argv);
/* The subcommands' part of `mapiserver --help`. */
void mp_server_cli_usage(FILE *fp);

#endif
