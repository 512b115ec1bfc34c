// BROKEN: the concurrent server of "The Socket API, Part 3: Concurrent Servers" (Linux For
// You), kept as the article wrote it. Adapted only to take the port from argv[1] and to
// include <arpa/inet.h> for inet_ntop; otherwise the article's code, bugs and all. The bug
// this file is about is its one-byte loop (see BUG below); the rest are the gaps lab 05
// closes: no SO_REUSEADDR, IPv4 only, bind()'s result ignored, SIGPIPE and SIGTERM left
// at their defaults, stdout not flushed before fork().
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

int main(int argc, char* argv[]) {
    int sfd, cfd;
    socklen_t len;
    char ch, buff[INET_ADDRSTRLEN];
    struct sockaddr_in saddr, caddr;

    sfd = socket(AF_INET, SOCK_STREAM, 0);

    saddr.sin_family = AF_INET;
    saddr.sin_addr.s_addr = htonl(INADDR_ANY);
    saddr.sin_port = htons(argc > 1 ? (uint16_t)atoi(argv[1]) : 1205);  // was htons(1205)

    bind(sfd, (struct sockaddr*)&saddr, sizeof(saddr));

    listen(sfd, 5);
    signal(SIGCHLD, SIG_IGN);

    while (1) {
        printf("Server waiting\n");
        len = sizeof(caddr);
        cfd = accept(sfd, (struct sockaddr*)&caddr, &len);

        if (fork() == 0) {
            printf("Child Server Created Handling connection with %s\n",
                   inet_ntop(AF_INET, &caddr.sin_addr, buff, sizeof(buff)));

            close(sfd);

            if (read(cfd, &ch, 1) < 0) perror("read");

            // BUG: read()'s 0 (EOF) is never looked at: at the client's EOF ch keeps its
            // last byte, which is then written forever; and as ch is a plain (signed) char,
            // a 0xff byte equals EOF (-1) and ends the loop in the middle of the data.
            while (ch != EOF) {
                if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
                    ch ^= 0x20; /* EXORing 6th bit will result in change in case */

                if (write(cfd, &ch, 1) < 0) perror("write");

                if (read(cfd, &ch, 1) < 0) perror("read");
            }
            close(cfd);
            return 0;
        }

        close(cfd);
    }
}
