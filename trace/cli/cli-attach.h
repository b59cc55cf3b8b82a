/* cli-attach.h - the `ravtrace list` and `ravtrace attach` subcommands
 * (attach.c), called from the tool's dispatch with the tool's name and the
 * subcommand's own argv (argv[0] = the subcommand). */
#ifndef RAV_CLI_ATTACH_H
#define RAV_CLI_ATTACH_H

int _ravtrace_cmd_list(const char *prog, int argc, char **argv);
int _ravtrace_cmd_attach(const char *prog, int argc, char **argv);

#endif /* RAV_CLI_ATTACH_H */
