"""Function words of the helpdesk's three languages.

Dropped before matching and classification: in short questions they carry
no topic and only add noise to the scores. Written accent-free because the
analyser folds accents first.
"""

ENGLISH = frozenset(
    """a about above after again all also am an and any are as at be been before being below between both but by
    can could did do does doing down during each few for from further had has have having he her here hers him his
    how i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out
    over own same she should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with would you your yours
    us may might must shall let lets please thank thanks dear hello hi regards kind best would like know want
    ask asking question questions many much""".split()
)

FRENCH = frozenset(
    """a au aux avec ce ces cette ceux cela ca dans de des du elle elles en et eux il ils je la le les leur leurs lui
    ma mais me meme mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes toi ton
    tu un une vos votre vous y est sont sera etre avoir ont avons avez ai as etait etaient fait faut peut peuvent
    pouvons doit doivent devons si plus tres aussi comme quel quelle quels quelles lorsque quand chez cet dont
    combien bonjour merci madame monsieur cordialement svp question""".split()
)

SPANISH = frozenset(
    """a al algo algunos ante antes como con contra cual cuales cuando de del desde donde durante e el ella ellas
    ellos en entre era es esa ese eso esta estas este esto estos fue ha han hay la las le les lo los mas me mi mis
    muy nos nosotros nuestra nuestro nuestros nuestras o os para pero por que quien se sea ser si sin sobre su sus
    tambien te tiene tienen todo todos tu tus un una unas uno unos usted ustedes y ya puede pueden podemos debe
    deben debemos cuanto cuanta cuantos cuantas hola gracias saludos estimados pregunta""".split()
)

ALL = ENGLISH | FRENCH | SPANISH
