// Holds one kind of state that a checkpoint must refuse, prints "ready", and waits for
// CONTROL_DIR/finish. usage: holder CONTROL_DIR threads|shared_write|sysv|socket|pipe|shared_ro|sparse
// (sparse is not refused: a 1 GiB mapping with 8 pages touched, whose image must stay small)
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void* idle(void* arg) {
  (void)arg;
  for (;;) pause();
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  const char* mode = argv[2];
  char path[4096];
  snprintf(path, sizeof path, "%s/data", argv[1]);
  if (strcmp(mode, "threads") == 0) {
    pthread_t t;
    pthread_create(&t, NULL, idle, NULL);
  } else if (strcmp(mode, "shared_write") == 0 || strcmp(mode, "shared_ro") == 0) {
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (ftruncate(fd, 4096) != 0) return 2;
    int prot = strcmp(mode, "shared_write") == 0 ? PROT_READ | PROT_WRITE : PROT_READ;
    if (mmap(NULL, 4096, prot, MAP_SHARED, fd, 0) == MAP_FAILED) return 2;
    close(fd);
  } else if (strcmp(mode, "sysv") == 0) {
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0 || shmat(id, NULL, 0) == (void*)-1) return 2;
    shmctl(id, IPC_RMID, NULL);
  } else if (strcmp(mode, "socket") == 0) {
    socket(AF_INET, SOCK_STREAM, 0);
  } else if (strcmp(mode, "pipe") == 0) {
    int p[2];
    if (pipe(p) != 0) return 2;
  } else if (strcmp(mode, "sparse") == 0) {
    char* p = mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return 2;
    for (int i = 0; i < 8; i++) p[(size_t)i << 27] = (char)(i + 1);
  } else {
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  char finish[4200];
  snprintf(finish, sizeof finish, "%s/finish", argv[1]);
  struct stat st;
  while (stat(finish, &st) != 0) usleep(10000);
  return 0;
}
