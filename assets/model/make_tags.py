#!/usr/bin/env python3
"""Writes tags.tsv: each of the 1000 ImageNet classes (labels.txt) mapped to the words people
search their photos for — an everyday name, then broader words where one exists.

No WordNet data is installable offline here, so the map is curated by hand: animals (classes
0-397) by the well-known ranges of the ImageNet class index (dogs 151-268, cats 281-285, ...),
everything else class by class below. Run it after convert.py has written labels.txt:

    python make_tags.py          # rewrites tags.tsv beside this file

Output format (also in README.md): `index<TAB>ImageNet label<TAB>word,word,...`, words in lower
case, most specific first; lines starting with # are comments.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Animals by index range: (first, last, words). Later entries override earlier ones.
ANIMAL_RANGES = [
    (0, 6, "fish,animal"),
    (1, 1, "goldfish,fish,animal"),
    (2, 4, "shark,fish,animal"),
    (5, 6, "ray,fish,animal"),
    (7, 8, "chicken,bird,animal"),
    (9, 24, "bird,animal"),
    (9, 9, "ostrich,bird,animal"),
    (21, 23, "bird of prey,bird,animal"),
    (22, 22, "eagle,bird,animal"),
    (24, 24, "owl,bird,animal"),
    (25, 29, "salamander,animal"),
    (30, 32, "frog,animal"),
    (33, 37, "turtle,animal"),
    (38, 48, "lizard,animal"),
    (40, 40, "chameleon,lizard,animal"),
    (47, 47, "chameleon,lizard,animal"),
    (39, 39, "iguana,lizard,animal"),
    (49, 50, "crocodile,animal"),
    (51, 51, "dinosaur,animal"),
    (52, 68, "snake,animal"),
    (69, 69, "fossil"),
    (70, 77, "spider,animal"),
    (71, 71, "scorpion,animal"),
    (78, 78, "tick,animal"),
    (79, 79, "centipede,animal"),
    (80, 100, "bird,animal"),
    (84, 84, "peacock,bird,animal"),
    (87, 90, "parrot,bird,animal"),
    (94, 94, "hummingbird,bird,animal"),
    (96, 96, "toucan,bird,animal"),
    (97, 98, "duck,bird,animal"),
    (99, 99, "goose,bird,animal"),
    (100, 100, "swan,bird,animal"),
    (101, 101, "elephant,animal"),
    (102, 102, "echidna,animal"),
    (103, 103, "platypus,animal"),
    (104, 104, "kangaroo,animal"),
    (105, 105, "koala,animal"),
    (106, 106, "wombat,animal"),
    (107, 107, "jellyfish,animal"),
    (108, 108, "sea anemone,animal"),
    (109, 109, "coral,sea"),
    (110, 111, "worm,animal"),
    (112, 112, "seashell,animal"),
    (113, 113, "snail,animal"),
    (114, 114, "slug,animal"),
    (115, 115, "sea slug,animal"),
    (116, 117, "seashell,animal"),
    (118, 121, "crab,animal"),
    (122, 124, "lobster,animal"),
    (125, 125, "crab,animal"),
    (126, 126, "woodlouse,animal"),
    (127, 146, "bird,animal"),
    (127, 128, "stork,bird,animal"),
    (130, 130, "flamingo,bird,animal"),
    (131, 133, "heron,bird,animal"),
    (144, 144, "pelican,bird,animal"),
    (145, 145, "penguin,bird,animal"),
    (146, 146, "albatross,bird,animal"),
    (147, 148, "whale,animal"),
    (149, 149, "dugong,animal"),
    (150, 150, "sea lion,animal"),
    (151, 268, "dog,animal"),
    (269, 271, "wolf,animal"),
    (272, 272, "coyote,animal"),
    (273, 275, "wild dog,animal"),
    (276, 276, "hyena,animal"),
    (277, 280, "fox,animal"),
    (281, 285, "cat,animal"),
    (286, 286, "puma,animal"),
    (287, 287, "lynx,animal"),
    (288, 288, "leopard,animal"),
    (289, 289, "snow leopard,animal"),
    (290, 290, "jaguar,animal"),
    (291, 291, "lion,animal"),
    (292, 292, "tiger,animal"),
    (293, 293, "cheetah,animal"),
    (294, 297, "bear,animal"),
    (296, 296, "polar bear,bear,animal"),
    (298, 298, "mongoose,animal"),
    (299, 299, "meerkat,animal"),
    (300, 307, "beetle,insect,animal"),
    (301, 301, "ladybug,insect,animal"),
    (308, 308, "fly,insect,animal"),
    (309, 309, "bee,insect,animal"),
    (310, 310, "ant,insect,animal"),
    (311, 312, "grasshopper,insect,animal"),
    (313, 313, "stick insect,insect,animal"),
    (314, 314, "cockroach,insect,animal"),
    (315, 315, "mantis,insect,animal"),
    (316, 318, "insect,animal"),
    (319, 320, "dragonfly,insect,animal"),
    (321, 326, "butterfly,insect,animal"),
    (327, 327, "starfish,animal"),
    (328, 328, "sea urchin,animal"),
    (329, 329, "sea cucumber,animal"),
    (330, 332, "rabbit,animal"),
    (333, 333, "hamster,animal"),
    (334, 334, "porcupine,animal"),
    (335, 335, "squirrel,animal"),
    (336, 336, "marmot,animal"),
    (337, 337, "beaver,animal"),
    (338, 338, "guinea pig,animal"),
    (339, 339, "horse,animal"),
    (340, 340, "zebra,animal"),
    (341, 343, "pig,animal"),
    (344, 344, "hippo,animal"),
    (345, 345, "cow,animal"),
    (346, 347, "buffalo,animal"),
    (348, 349, "sheep,animal"),
    (350, 350, "goat,animal"),
    (351, 353, "antelope,animal"),
    (354, 354, "camel,animal"),
    (355, 355, "llama,animal"),
    (356, 359, "weasel,animal"),
    (358, 359, "ferret,animal"),
    (360, 360, "otter,animal"),
    (361, 361, "skunk,animal"),
    (362, 362, "badger,animal"),
    (363, 363, "armadillo,animal"),
    (364, 364, "sloth,animal"),
    (365, 365, "orangutan,ape,animal"),
    (366, 366, "gorilla,ape,animal"),
    (367, 367, "chimpanzee,ape,animal"),
    (368, 369, "gibbon,ape,animal"),
    (370, 382, "monkey,animal"),
    (383, 384, "lemur,animal"),
    (385, 386, "elephant,animal"),
    (387, 387, "red panda,animal"),
    (388, 388, "panda,animal"),
    (389, 397, "fish,animal"),
    (390, 390, "eel,fish,animal"),
    (391, 391, "salmon,fish,animal"),
]

# Classes 398-999, one by one: index, then words.
OBJECTS = """
398 abacus
399 abaya,clothing
400 graduation,gown,clothing
401 accordion,musical instrument
402 guitar,musical instrument
403 aircraft carrier,ship,boat
404 airplane,aircraft
405 airship,aircraft
406 altar,church
407 ambulance,vehicle
408 amphibious vehicle,vehicle
409 clock
410 beehive
411 apron,clothing
412 trash can
413 rifle,gun,weapon
414 backpack,bag
415 bakery,shop
416 gymnastics,sport
417 balloon
418 pen
419 bandage
420 banjo,musical instrument
421 stairs
422 weights,sport
423 chair,furniture
424 barbershop,shop
425 barn,building
426 barometer
427 barrel
428 wheelbarrow
429 baseball,sport
430 basketball,sport
431 cradle,furniture
432 bassoon,musical instrument
433 swim cap,clothing
434 towel
435 bathtub,bathroom
436 car,vehicle
437 lighthouse,building
438 glass
439 hat,clothing
440 beer,bottle,drink
441 beer,glass,drink
442 bell tower,building
443 bib,baby
444 bicycle,vehicle
445 swimsuit,clothing
446 folder
447 binoculars
448 birdhouse
449 boathouse,building
450 sled,vehicle
451 tie,clothing
452 hat,clothing
453 bookcase,furniture
454 bookshop,shop
455 bottle cap
456 bow,weapon
457 bow tie,tie,clothing
458 plaque
459 bra,clothing
460 breakwater,sea
461 armor
462 broom
463 bucket
464 buckle
465 vest,clothing
466 train,vehicle
467 butcher,shop
468 taxi,car,vehicle
469 pot,kitchen
470 candle
471 cannon,weapon
472 canoe,boat
473 can opener,kitchen
474 sweater,clothing
475 mirror,car
476 carousel
477 tools
478 box
479 wheel,car
480 atm
481 cassette
482 cassette player,electronics
483 castle,building
484 catamaran,boat
485 cd player,electronics
486 cello,musical instrument
487 phone,electronics
488 chain
489 fence
490 armor
491 chainsaw,tools
492 chest,furniture
493 dresser,furniture
494 wind chime
495 cabinet,furniture
496 christmas stocking,christmas
497 church,building
498 cinema,building
499 knife,kitchen
500 ruins,building
501 cloak,clothing
502 clog,shoe,clothing
503 cocktail shaker,drink
504 mug,cup
505 coffee pot,kitchen
506 coil
507 lock
508 keyboard,computer,electronics
509 candy store,shop
510 container ship,ship,boat
511 convertible,car,vehicle
512 corkscrew,kitchen
513 trumpet,musical instrument
514 boot,shoe,clothing
515 cowboy hat,hat,clothing
516 cradle,furniture
517 crane
518 helmet
519 crate,box
520 crib,furniture
521 slow cooker,kitchen
522 croquet,sport
523 crutch
524 armor
525 dam
526 desk,furniture
527 computer,electronics
528 phone
529 diaper,baby
530 clock
531 watch
532 table,furniture
533 cloth
534 dishwasher,kitchen
535 brake
536 dock,harbor
537 dog sled,sled
538 dome,building
539 doormat
540 oil rig,sea
541 drum,musical instrument
542 drumstick
543 weights,sport
544 pot,kitchen
545 fan
546 guitar,musical instrument
547 train,vehicle
548 entertainment center,furniture
549 envelope
550 coffee machine,kitchen
551 makeup
552 feather boa,scarf,clothing
553 file,tools
554 fireboat,boat
555 fire truck,vehicle
556 fire screen,fireplace
557 flagpole,flag
558 flute,musical instrument
559 chair,furniture
560 helmet,football,sport
561 forklift,vehicle
562 fountain
563 pen
564 bed,furniture
565 train,vehicle
566 horn,musical instrument
567 frying pan,kitchen
568 fur coat,coat,clothing
569 garbage truck,truck,vehicle
570 gas mask,mask
571 gas pump
572 glass
573 go-kart,vehicle
574 golf,sport
575 golf cart,golf,vehicle
576 gondola,boat
577 gong,musical instrument
578 dress,clothing
579 piano,musical instrument
580 greenhouse,building
581 grille,car
582 grocery store,shop
583 guillotine
584 hair clip
585 hair spray
586 half-track,vehicle
587 hammer,tools
588 basket
589 hair dryer
590 pda,electronics
591 handkerchief
592 hard drive,computer,electronics
593 harmonica,musical instrument
594 harp,musical instrument
595 harvester,farm,vehicle
596 axe,tools
597 holster,gun
598 home theater,electronics
599 honeycomb,bee
600 hook
601 skirt,clothing
602 gymnastics,sport
603 horse cart,horse,vehicle
604 hourglass
605 music player,electronics
606 iron
607 jack-o'-lantern,pumpkin,halloween
608 jeans,clothing
609 jeep,car,vehicle
610 shirt,clothing
611 puzzle,toy
612 rickshaw,vehicle
613 joystick,video game
614 kimono,clothing
615 knee pad
616 knot,rope
617 lab coat,coat,clothing
618 ladle,kitchen
619 lamp
620 laptop,computer,electronics
621 lawn mower,garden
622 lens cap,camera
623 letter opener
624 library,books
625 lifeboat,boat
626 lighter
627 limousine,car,vehicle
628 cruise ship,ship,boat
629 lipstick,makeup
630 shoe,clothing
631 lotion
632 speaker,electronics
633 magnifier
634 sawmill,building
635 compass
636 mailbag,bag
637 mailbox
638 swimsuit,clothing
639 swimsuit,clothing
640 manhole cover
641 maraca,musical instrument
642 marimba,musical instrument
643 mask
644 match
645 maypole
646 maze
647 measuring cup,kitchen
648 cabinet,bathroom
649 standing stones,monument
650 microphone
651 microwave,kitchen
652 uniform,clothing
653 milk can
654 minibus,bus,vehicle
655 skirt,clothing
656 minivan,car,vehicle
657 rocket
658 mitten,glove,clothing
659 bowl,kitchen
660 mobile home,house
661 vintage car,car,vehicle
662 modem,electronics
663 monastery,building
664 monitor,computer,electronics
665 scooter,vehicle
666 mortar,kitchen
667 graduation,hat
668 mosque,building
669 mosquito net,bed
670 scooter,vehicle
671 bicycle,vehicle
672 tent,camping
673 computer mouse,computer
674 mousetrap
675 van,truck,vehicle
676 muzzle,dog
677 nail,tools
678 neck brace
679 necklace,jewelry
680 baby bottle,baby
681 laptop,computer,electronics
682 obelisk,monument
683 oboe,musical instrument
684 ocarina,musical instrument
685 dashboard,car
686 oil filter
687 organ,musical instrument
688 oscilloscope,electronics
689 skirt,clothing
690 cart,vehicle
691 oxygen mask,mask
692 package
693 paddle,boat
694 paddle steamer,boat
695 padlock,lock
696 paintbrush
697 pajamas,clothing
698 palace,building
699 panpipe,musical instrument
700 paper towel
701 parachute
702 gymnastics,sport
703 bench
704 parking meter
705 train,vehicle
706 patio,garden
707 phone
708 pedestal
709 pencil case
710 pencil sharpener
711 perfume
712 petri dish
713 photocopier,electronics
714 guitar pick
715 helmet
716 fence,garden
717 pickup truck,truck,vehicle
718 pier,sea
719 piggy bank
720 pill bottle,bottle
721 pillow
722 table tennis,sport
723 pinwheel,toy
724 pirate ship,ship,boat
725 jug,kitchen
726 hand plane,tools
727 planetarium,building
728 plastic bag,bag
729 dish rack,kitchen
730 plow,farm
731 plunger
732 camera
733 pole
734 police van,police,vehicle
735 poncho,clothing
736 billiards,sport
737 bottle,drink
738 flower pot,plant
739 pottery
740 drill,tools
741 rug
742 printer,electronics
743 prison,building
744 rocket
745 projector,electronics
746 hockey,sport
747 punching bag,boxing,sport
748 handbag,bag
749 quill,pen
750 quilt,bed
751 race car,car,vehicle
752 racket,sport
753 radiator
754 radio,electronics
755 radio telescope,telescope
756 rain barrel,barrel,garden
757 camper,vehicle
758 reel
759 camera
760 fridge,kitchen
761 remote control,electronics
762 restaurant
763 revolver,gun,weapon
764 rifle,gun,weapon
765 rocking chair,chair,furniture
766 rotisserie,kitchen
767 eraser
768 rugby,sport
769 ruler
770 running shoe,shoe,clothing
771 safe
772 safety pin
773 salt shaker,kitchen
774 sandal,shoe,clothing
775 sarong,clothing
776 saxophone,musical instrument
777 sword,weapon
778 scale
779 school bus,bus,vehicle
780 sailboat,boat
781 scoreboard,sport
782 screen,electronics
783 screw,tools
784 screwdriver,tools
785 seat belt,car
786 sewing machine
787 shield
788 shoe shop,shop
789 door
790 basket,shopping
791 shopping cart,shopping
792 shovel,tools
793 shower cap
794 shower curtain,bathroom
795 ski,skiing,sport
796 ski mask,clothing
797 sleeping bag,camping
798 slide rule
799 door
800 slot machine
801 snorkel,diving
802 snowmobile,snow,vehicle
803 snowplow,snow,vehicle
804 soap dispenser,bathroom
805 soccer,ball,sport
806 sock,clothing
807 satellite dish
808 sombrero,hat,clothing
809 bowl,kitchen
810 keyboard,computer
811 heater
812 space shuttle,spacecraft
813 spatula,kitchen
814 speedboat,boat
815 spider web,spider
816 spindle
817 sports car,car,vehicle
818 spotlight
819 stage,concert
820 steam locomotive,train,vehicle
821 bridge
822 steel drum,drum,musical instrument
823 stethoscope
824 scarf,clothing
825 stone wall,wall
826 stopwatch,watch
827 stove,kitchen
828 strainer,kitchen
829 tram,vehicle
830 stretcher
831 sofa,furniture
832 temple,building
833 submarine,boat
834 suit,clothing
835 sundial
836 sunglasses
837 sunglasses
838 sunscreen,lotion
839 bridge
840 mop
841 sweatshirt,clothing
842 swimsuit,clothing
843 swing,playground
844 switch
845 syringe
846 lamp
847 tank,vehicle
848 tape player,electronics
849 teapot,kitchen
850 teddy bear,toy
851 television,electronics
852 tennis,ball,sport
853 thatched roof,house
854 curtain,stage
855 thimble
856 thresher,farm
857 throne,chair
858 roof,house
859 toaster,kitchen
860 tobacco shop,shop
861 toilet,bathroom
862 torch
863 totem pole
864 tow truck,truck,vehicle
865 toy store,toy,shop
866 tractor,farm,vehicle
867 truck,vehicle
868 tray
869 trench coat,coat,clothing
870 tricycle,vehicle
871 sailboat,boat
872 tripod,camera
873 arch,monument
874 trolleybus,bus,vehicle
875 trombone,musical instrument
876 tub
877 turnstile
878 typewriter
879 umbrella
880 unicycle
881 piano,musical instrument
882 vacuum cleaner
883 vase
884 vault,building
885 velvet,fabric
886 vending machine
887 robe,clothing
888 viaduct,bridge
889 violin,musical instrument
890 volleyball,sport
891 waffle iron,kitchen
892 clock
893 wallet
894 wardrobe,furniture
895 airplane,aircraft
896 sink,bathroom
897 washing machine
898 water bottle,bottle
899 jug
900 water tower
901 jug
902 whistle
903 wig
904 window
905 window blind,window
906 tie,clothing
907 wine,bottle,drink
908 airplane,aircraft
909 wok,kitchen
910 spoon,kitchen
911 wool
912 fence
913 shipwreck,boat
914 sailboat,boat
915 yurt,tent
916 website,screen
917 comic,book
918 crossword
919 street sign,sign
920 traffic light,street
921 book
922 menu,restaurant
923 meal,food
924 guacamole,food
925 soup,food
926 hot pot,food
927 dessert,food
928 ice cream,dessert,food
929 ice lolly,dessert,food
930 bread,food
931 bagel,bread,food
932 pretzel,food
933 burger,food
934 hot dog,food
935 mashed potato,food
936 cabbage,vegetable,food
937 broccoli,vegetable,food
938 cauliflower,vegetable,food
939 zucchini,vegetable,food
940 squash,vegetable,food
941 squash,vegetable,food
942 squash,vegetable,food
943 cucumber,vegetable,food
944 artichoke,vegetable,food
945 pepper,vegetable,food
946 cardoon,vegetable,food
947 mushroom,food
948 apple,fruit,food
949 strawberry,fruit,food
950 orange,fruit,food
951 lemon,fruit,food
952 fig,fruit,food
953 pineapple,fruit,food
954 banana,fruit,food
955 jackfruit,fruit,food
956 custard apple,fruit,food
957 pomegranate,fruit,food
958 hay,farm
959 pasta,food
960 chocolate,dessert,food
961 dough,baking,food
962 meatloaf,food
963 pizza,food
964 pie,food
965 burrito,food
966 wine,drink
967 coffee,drink
968 cup
969 eggnog,drink
970 mountain,landscape
971 bubble
972 cliff,landscape
973 coral reef,sea
974 geyser,landscape
975 lake,landscape
976 coast,landscape
977 beach,sea
978 beach,sea
979 valley,landscape
980 volcano,mountain,landscape
981 baseball,sport,person
982 wedding,person
983 scuba diving,sea,person
984 field,flower,plant
985 daisy,flower,plant
986 orchid,flower,plant
987 corn,food
988 acorn,plant
989 rose hip,plant
990 chestnut,plant
991 fungus,plant
992 mushroom,fungus,plant
993 mushroom,fungus,plant
994 mushroom,fungus,plant
995 mushroom,fungus,plant
996 mushroom,fungus,plant
997 mushroom,fungus,plant
998 corn,food
999 toilet paper,bathroom
"""


def main():
    with open(os.path.join(HERE, "labels.txt"), encoding="utf-8") as f:
        labels = f.read().splitlines()
    assert len(labels) == 1000, len(labels)
    words = [None] * 1000
    for first, last, spec in ANIMAL_RANGES:
        for i in range(first, last + 1):
            words[i] = spec
    for line in OBJECTS.strip().splitlines():
        index, spec = line.split(" ", 1)
        index = int(index)
        assert 398 <= index <= 999 and words[index] is None, line
        words[index] = spec
    missing = [i for i, w in enumerate(words) if w is None]
    assert not missing, f"unmapped classes: {missing}"
    out = os.path.join(HERE, "tags.tsv")
    with open(out, "w", encoding="utf-8") as f:
        f.write("# ImageNet-1k class -> search words. Made by make_tags.py; format in README.md.\n")
        f.write("# index\tImageNet label (labels.txt)\twords, most specific first\n")
        for i, (label, spec) in enumerate(zip(labels, words)):
            names = [w.strip() for w in spec.split(",")]
            assert all(n and n == n.lower() for n in names), (i, spec)
            f.write(f"{i}\t{label}\t{','.join(names)}\n")
    print(f"wrote {out}: {len(set(w for s in words for w in s.split(',')))} distinct words")


if __name__ == "__main__":
    main()
