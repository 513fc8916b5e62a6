/* Replays inputs through a fuzz target without libFuzzer, so the normal
 * test suite runs every seed and every past crash (regressions/) as a
 * regression test. Arguments: files or folders of inputs. Exit 0 when all
 * ran (a finding aborts, failing the test). */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    gchar *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    g_free(data);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0, n = 0;
    for (int i = 1; i < argc; i++) {
        if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            failed += replay_file(argv[i]);
            n++;
            continue;
        }
        GDir *d = g_dir_open(argv[i], 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
            if (name[0] == '.')
                continue; /* .gitkeep keeps an empty folder in git */
            char *path = g_build_filename(argv[i], name, NULL);
            if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
                failed += replay_file(path);
                n++;
            }
            g_free(path);
        }
        if (d)
            g_dir_close(d);
    }
    printf("replayed %d inputs\n", n);
    return failed == 0 && n > 0 ? 0 : 1;
}
