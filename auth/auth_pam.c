/* auth_pam.c - system users: PAM for the password, passwd for the rest
 * Used by: auth_user.c, in authd's PAM worker (root). The conversation
 * answers a hidden prompt with the password and a visible one with the user
 * name, as a login program would; informational messages are only logged
 * at debug level. PAM_RHOST carries the client's address so that modules
 * such as pam_faillock or pam_access can use it. PAM's own failure delay
 * is replaced by a no-op so that a worker is not held for seconds: authd
 * delays failed logins itself (auth_failure_delay). */
#include <errno.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_pam.h"
#include "log.h"
#include "mem.h"
#include "status.h"

/* the largest getpwnam_r buffer we try before giving up */
#define PAM_PW_BUF_MAX (1024 * 1024)

struct pam_answers {
        const char *user;
        const char *password;
};

/* pam_free_responses - wipe and free n responses */
static void pam_free_responses(struct pam_response *resp, int n)
{
        for (int i = 0; i < n; i++) {
                if (resp[i].resp == NULL)
                        continue;
                explicit_bzero(resp[i].resp, strlen(resp[i].resp));
                free(resp[i].resp);
        }
        free(resp);
}

/* pam_converse - the conversation function: PAM frees what we return */
static int pam_converse(int n, const struct pam_message **msg,
                        struct pam_response **resp_r, void *appdata)
{
        const struct pam_answers *answers = appdata;
        struct pam_response *resp;

        *resp_r = NULL;
        if (n <= 0 || n > PAM_MAX_NUM_MSG)
                return PAM_CONV_ERR;
        /* calloc, not xcalloc: PAM can report running out itself */
        resp = calloc((size_t)n, sizeof(*resp));
        if (resp == NULL)
                return PAM_BUF_ERR;
        for (int i = 0; i < n; i++) {
                const char *answer = NULL;

                switch (msg[i]->msg_style) {
                case PAM_PROMPT_ECHO_OFF:
                        answer = answers->password;
                        break;
                case PAM_PROMPT_ECHO_ON:
                        answer = answers->user;
                        break;
                case PAM_ERROR_MSG:
                case PAM_TEXT_INFO:
                        log_debug("PAM %s: %s", answers->user,
                                  msg[i]->msg != NULL ? msg[i]->msg : "");
                        continue;
                default:
                        pam_free_responses(resp, n);
                        return PAM_CONV_ERR;
                }
                resp[i].resp = strdup(answer);
                if (resp[i].resp == NULL) {
                        pam_free_responses(resp, n);
                        return PAM_BUF_ERR;
                }
        }
        *resp_r = resp;
        return PAM_SUCCESS;
}

/* pam_no_delay - PAM_FAIL_DELAY hook: authd does the delaying */
static void pam_no_delay(int retval, unsigned usec_delay, void *appdata)
{
}

/* pam_result - 1, 0 or -1 for a PAM return code from step */
static int pam_result(pam_handle_t *pamh, int rc, const char *step,
                      const char *user, struct status *st)
{
        switch (rc) {
        case PAM_SUCCESS:
                return 1;
        case PAM_AUTH_ERR:
        case PAM_USER_UNKNOWN:
        case PAM_MAXTRIES:
        case PAM_PERM_DENIED:
        case PAM_CRED_INSUFFICIENT:
        case PAM_ACCT_EXPIRED:
        case PAM_NEW_AUTHTOK_REQD:
        case PAM_AUTHTOK_EXPIRED:
                status_set(st, STATUS_POLICY, "PAM %s %s: %s", step, user,
                           pam_strerror(pamh, rc));
                return 0;
        default:
                /* PAM_AUTHINFO_UNAVAIL (a module's backend is down),
                 * PAM_SYSTEM_ERR, PAM_BUF_ERR, PAM_CONV_ERR, ... */
                return status_set(st, STATUS_LOCAL_IO, "PAM %s %s: %s", step,
                                  user, pam_strerror(pamh, rc));
        }
}

int auth_pam_verify(const char *service, const char *confdir,
                    const char *user, const char *password, const char *rhost,
                    struct status *st)
{
        struct pam_answers answers = { user, password };
        struct pam_conv conv = { pam_converse, &answers };
        pam_handle_t *pamh = NULL;
        int rc;
        int ret;

        if (service == NULL)
                service = AUTH_PAM_SERVICE;
        if (confdir != NULL)
                rc = pam_start_confdir(service, user, &conv, confdir, &pamh);
        else
                rc = pam_start(service, user, &conv, &pamh);
        if (rc != PAM_SUCCESS)
                return status_set(st, STATUS_LOCAL_IO, "pam_start %s: %s",
                                  service, pam_strerror(pamh, rc));
        rc = pam_set_item(pamh, PAM_FAIL_DELAY, (const void *)pam_no_delay);
        if (rc == PAM_SUCCESS && rhost != NULL && *rhost != '\0')
                rc = pam_set_item(pamh, PAM_RHOST, rhost);
        if (rc != PAM_SUCCESS) {
                ret = pam_result(pamh, rc, "set_item", user, st);
                goto out;
        }
        rc = pam_authenticate(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        ret = pam_result(pamh, rc, "authenticate", user, st);
        if (ret != 1)
                goto out;
        rc = pam_acct_mgmt(pamh, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
        ret = pam_result(pamh, rc, "account", user, st);
out:
        pam_end(pamh, rc);
        return ret;
}

int auth_pam_getpw(const char *user, uid_t *uid_r, gid_t *gid_r,
                   char **home_r, struct status *st)
{
        struct passwd pw;
        struct passwd *found = NULL;
        long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = hint > 0 ? (size_t)hint : 4096;
        char *buf = NULL;
        int rc;

        *home_r = NULL;
        for (;;) {
                buf = xrealloc(buf, size);
                rc = getpwnam_r(user, &pw, buf, size, &found);
                if (rc != ERANGE || size >= PAM_PW_BUF_MAX)
                        break;
                size *= 2;
        }
        if (found == NULL) {
                free(buf);
                /* POSIX lets "not found" come back as any of these */
                if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
                    rc == EPERM)
                        return 0;
                errno = rc;
                return status_set(st, STATUS_LOOKUP_TEMP,
                                  "getpwnam %s: %m", user);
        }
        *uid_r = pw.pw_uid;
        *gid_r = pw.pw_gid;
        *home_r = xstrdup(pw.pw_dir != NULL ? pw.pw_dir : "");
        free(buf);
        return 1;
}
